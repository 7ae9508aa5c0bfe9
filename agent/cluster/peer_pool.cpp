// SPDX-License-Identifier: Apache-2.0
#include "cluster/peer_pool.h"

#include <fmt/format.h>
#include <chrono>

#include "peers/resolver.h"

namespace agent::cluster {

PeerPool::PeerPool(PeerPoolOptions options, peers::Resolver& resolver,
                   std::vector<std::string> names)
    : options_(std::move(options)), resolver_(resolver), names_(std::move(names)) {
  conns_.resize(names_.size());
  last_.resize(names_.size());
  inflight_.resize(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    last_[i].ordinal = static_cast<int>(i);
    last_[i].name = names_[i];
  }
}

redis::ConnectOptions PeerPool::connectOptions(const std::string& name) const {
  redis::ConnectOptions options = options_.connect;
  if (options.tls && options_.verify_names) {
    options.tls->server_name = name;
    options.tls->sni = true;
  }
  return options;
}

PeerProbe PeerPool::probeOne(int ordinal, Depth depth) {
  auto idx = static_cast<size_t>(ordinal);
  PeerProbe p;
  p.ordinal = ordinal;
  p.name = names_[idx];
  auto ip = resolver_.resolve(p.name, options_.my_ip);
  if (!ip) {
    p.error = ip.error();
    conns_[idx].reset();
    return p;
  }
  p.ip = *ip;
  auto& conn = conns_[idx];
  if (conn && (!conn->healthy() || conn->endpoint().host != p.ip)) conn.reset();
  if (!conn) {
    auto opened = redis::Connection::open({p.ip, options_.redis_port}, connectOptions(p.name));
    if (!opened) {
      p.error = opened.error();
      return p;
    }
    conn.emplace(std::move(*opened));
  }
  if (depth == Depth::Snapshot) {
    auto snap = takeSnapshot(*conn);
    if (!snap) {
      p.error = snap.error();
      if (!conn->healthy()) conn.reset();
      return p;
    }
    p.node_id = snap->myId();
    if (p.node_id.empty()) p.error = fail(Errc::Server, "loading its dataset");
    p.snapshot = std::move(*snap);
    return p;
  }
  auto id = conn->commandString({"CLUSTER", "MYID"});
  if (!id) {
    p.error = id.error();
    if (!conn->healthy()) conn.reset();
    return p;
  }
  p.node_id = *id;
  return p;
}

std::vector<PeerProbe> PeerPool::probeAll(Depth depth, int64_t budget_ms) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (inflight_[i]) continue;  // still busy with an earlier pass
    inflight_[i] = std::async(std::launch::async,
                              [this, i, depth] { return probeOne(static_cast<int>(i), depth); });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
  for (size_t i = 0; i < names_.size(); ++i) {
    auto& pending = inflight_[i];
    if (budget_ms >= 0 && pending->wait_until(deadline) != std::future_status::ready) {
      last_[i].stale = true;
      continue;
    }
    last_[i] = pending->get();
    pending.reset();
  }
  return last_;
}

redis::Connection* PeerPool::connection(int ordinal) {
  auto idx = static_cast<size_t>(ordinal);
  if (idx >= conns_.size() || inflight_[idx] || !conns_[idx] || !conns_[idx]->healthy()) {
    return nullptr;
  }
  return &*conns_[idx];
}

Result<redis::Reply> PeerPool::command(int ordinal, const std::vector<std::string>& args) {
  if (ordinal == kLocal) {
    redis::Connection* local = local_ ? local_() : nullptr;
    if (local == nullptr) return fail(Errc::Transport, "no connection to the local Redis");
    return local->command(args);
  }
  redis::Connection* conn = connection(ordinal);
  if (conn == nullptr) {
    return fail(Errc::Transport,
                fmt::format("no connection to {}", names_.at(static_cast<size_t>(ordinal))));
  }
  return conn->command(args);
}

}  // namespace agent::cluster
