// SPDX-License-Identifier: Apache-2.0
// The local Redis as the loop sees it: one connection, reopened when it breaks, and the snapshot
// of the last pass, or why there is none. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cluster/snapshot.h"
#include "common/counters.h"
#include "redis/connection.h"
#include "state/view.h"

namespace agent::app {

class LocalRedis {
 public:
  // `on_connect` runs after every new connection (settings may have changed with the process).
  LocalRedis(redis::Endpoint endpoint, redis::ConnectOptions options, Activity& activity,
             std::function<void()> on_connect);

  // Connects if needed and takes a snapshot. False when Redis did not answer (error() says why).
  bool observe();
  // The snapshot of the last observe(), absent when it failed.
  const std::optional<cluster::Snapshot>& snapshot() const { return snapshot_; }
  // The open connection; only after observe() returned true.
  redis::Connection& connection() { return *conn_; }
  // The open connection, or null while there is none (the peer pool's "local" pod).
  redis::Connection* connectionOrNull() { return conn_ ? &*conn_ : nullptr; }
  const std::string& error() const { return error_; }
  // Observes once more: is the local Redis a master that owns slots right now?
  bool isMasterWithSlots();
  // cluster-node-timeout as the local Redis runs it (only CONFIG GET reveals it).
  std::optional<int64_t> nodeTimeoutMs();
  // The redis_* fields of the published view.
  void describe(state::StateView& view) const;

 private:
  void lost(const Error& err);

  redis::Endpoint endpoint_;
  redis::ConnectOptions options_;
  Activity& activity_;
  std::function<void()> on_connect_;
  std::optional<redis::Connection> conn_;
  std::optional<cluster::Snapshot> snapshot_;
  cluster::NodesCache nodes_cache_;  // the view is parsed again only when it changed
  std::string error_;
  bool timed_out_ = false;
  bool answered_ = false;  // the last failure was an error reply, not a silent or lost Redis
  bool was_up_ = false;    // "redis_unreachable" counts losing it, not every failed pass
};

}  // namespace agent::app
