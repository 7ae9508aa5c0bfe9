// SPDX-License-Identifier: Apache-2.0
#include "app/master_link.h"

#include "redis/info.h"

namespace agent::app {

std::optional<int64_t> MasterLink::offset(const std::optional<cluster::Snapshot>& local) {
  if (!local || !local->isReplica()) {
    conn_.reset();
    return std::nullopt;
  }
  std::string host = local->info.str("master_host");
  auto port = local->info.integer("master_port");
  // Only while the replication link is up is the node at that address surely its master.
  if (host.empty() || !port || local->info.str("master_link_status") != "up") return std::nullopt;
  if (conn_ && (!conn_->healthy() || conn_->endpoint().host != host ||
                conn_->endpoint().port != static_cast<int>(*port))) {
    conn_.reset();
  }
  if (!conn_) {
    auto opened = redis::Connection::open({host, static_cast<int>(*port)}, options_);
    if (!opened) return std::nullopt;
    conn_.emplace(std::move(*opened));
  }
  auto reply = conn_->commandString({"INFO", "replication"});
  if (!reply) return std::nullopt;
  return redis::InfoFields::parse(*reply).integer("master_repl_offset");
}

}  // namespace agent::app
