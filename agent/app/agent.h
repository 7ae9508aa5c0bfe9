// SPDX-License-Identifier: Apache-2.0
// `run`: the long-running sidecar. One loop thread observes the local Redis and every peer pod,
// keeps the node-ID -> ordinal map current, and drives the cluster modules. It never writes
// nodes.conf: Redis owns that file while it runs (prepare is its only other writer).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/state.h"
#include "cluster/creator.h"
#include "cluster/healer.h"
#include "cluster/peer_pool.h"
#include "cluster/snapshot.h"
#include "common/stop.h"
#include "config/config.h"
#include "control/server.h"
#include "http/server.h"
#include "nodes_conf/ordinal_map.h"
#include "redis/connection.h"

namespace agent::peers {
class Resolver;
}

namespace agent::app {

class Agent {
 public:
  Agent(const config::Config& config, peers::Resolver& resolver,
        std::optional<std::string> password);

  const StateStore& state() const { return state_; }
  const Activity& activity() const { return activity_; }
  // Loops until `stop` is requested. Returns the process exit code.
  int run(const StopSignal& stop);

 private:
  // One pass; returns how long to sleep before the next one.
  int64_t tick();
  bool observeLocal();
  void learnOrdinals(const std::vector<cluster::PeerProbe>& probes);
  void saveOrdinalMap();
  std::string peerInfo() const;
  void publish();
  bool creating() const;
  int64_t heal();
  void startControl();
  // Runs on the control socket's thread; only touches thread-safe members.
  control::Line handleHandover(const control::Request& request, const control::Emit& emit);
  bool localIsMasterWithSlots();
  void lingerForHandover();

  const config::Config& config_;
  Activity activity_;
  StateStore state_;
  int64_t started_ms_ = 0;
  redis::ConnectOptions connect_;
  cluster::PeerPool peers_;
  cluster::Creator creator_;
  cluster::Healer healer_;
  int64_t node_timeout_ms_ = 15000;
  int64_t waiting_since_ms_ = 0;
  http::Server http_;
  std::unique_ptr<control::Server> control_;
  bool stopping_ = false;
  std::optional<redis::Connection> local_;
  std::optional<cluster::Snapshot> snapshot_;
  std::string local_error_;
  nodes_conf::OrdinalMap ordinals_;
  // ordinal -> node ID seen at the previous probe; a mapping is recorded once seen twice, so a
  // DNS answer that is briefly stale cannot teach the map a wrong pod.
  std::vector<std::string> previous_ids_;
};

}  // namespace agent::app
