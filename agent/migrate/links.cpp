// SPDX-License-Identifier: Apache-2.0
#include "migrate/links.h"

#include <algorithm>

namespace agent::migrate {

Links::Links(std::vector<Peer> peers, redis::ConnectOptions options)
    : peers_(std::move(peers)), options_(std::move(options)) {}

Result<redis::Connection*> Links::connection(const std::string& id) {
  auto it = open_.find(id);
  if (it != open_.end() && it->second.healthy()) return &it->second;
  if (it != open_.end()) open_.erase(it);
  auto peer = std::find_if(peers_.begin(), peers_.end(), [&](const Peer& p) { return p.id == id; });
  if (peer == peers_.end()) return fail(Errc::NotFound, "no address known for node " + id);
  auto conn = redis::Connection::open({peer->host, peer->port}, options_);
  if (!conn) return conn.error();
  auto [placed, added] = open_.emplace(id, std::move(*conn));
  (void)added;
  return &placed->second;
}

std::unique_ptr<Nodes> Links::another() {
  return std::make_unique<Links>(peers_, options_);
}

Result<std::vector<Result<redis::Reply>>> Links::pipeline(
    const std::string& id, const std::vector<std::vector<std::string>>& commands,
    const redis::CommandOptions& options) {
  auto conn = connection(id);
  if (!conn) return conn.error();
  return (*conn)->pipeline(commands, options);
}

}  // namespace agent::migrate
