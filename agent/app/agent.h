// SPDX-License-Identifier: Apache-2.0
// `run`: the long-running sidecar. A thin loop that wires its parts: each pass observes the
// local Redis (LocalRedis), looks at the peers that need it and creates or heals the cluster
// (ClusterDriver), learns identities (OrdinalLearner), reads its master's offset (MasterLink),
// publishes what it saw for probes and metrics (StatePublisher) and moves the node to a new
// password when the mounted one changes (PasswordRotation). The HTTP listener serves the
// published view; the control socket serves handovers (HandoverService); nodes.conf changes wake
// the loop (NodesConfWatch). It sleeps --poll-interval between passes, less when something happens.
// It never writes nodes.conf: Redis owns that file while it runs. Threads: docs/architecture.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "app/cert_watch.h"
#include "app/cluster_driver.h"
#include "app/handover_service.h"
#include "app/local_redis.h"
#include "app/master_link.h"
#include "app/nodes_conf_watch.h"
#include "app/ordinal_learner.h"
#include "app/password_rotation.h"
#include "app/publisher.h"
#include "app/server_gate.h"
#include "app/shape_watch.h"
#include "cluster/peer_pool.h"
#include "common/counters.h"
#include "common/stop.h"
#include "config/config.h"
#include "http/server.h"
#include "metrics/exporter.h"

namespace agent::peers {
class Resolver;
}

namespace agent::app {

class Agent {
 public:
  Agent(const config::Config& config, peers::Resolver& resolver,
        std::optional<std::string> password);

  const state::StateStore& state() const { return publisher_.store(); }
  // Loops until `stop` is requested. Returns the process exit code. The nodes.conf watcher
  // wakes `stop` to start the next pass early.
  int run(StopSignal& stop);

 private:
  bool startHttp();
  // One pass; returns how long to sleep before the next one.
  int64_t tick();
  void publish(int64_t pass_ms);
  void shutDown();
  // Applies a new shape of the cluster: the peers and the cluster modules are built again for
  // it (they size themselves by it). Waits while ordinal 0 is still creating the cluster.
  void followShape();
  void buildCluster(bool created);

  const config::Config& config_;
  Activity activity_;
  StatePublisher publisher_;
  metrics::Exporter exporter_;  // before http_: the handlers use both until http_ stops
  int64_t started_ms_ = 0;
  int64_t passes_ = 0;
  bool stopping_ = false;
  PasswordRotation rotation_;  // before every part that connects: they share its credentials
  std::optional<std::string> password_;  // the password at start (the pool's connect options)
  peers::Resolver& resolver_;
  ShapeWatch shape_;
  config::Config shaped_;  // config_ with the shape in use: the peers and the driver see this
  std::optional<config::Shape> pending_shape_;
  std::unique_ptr<cluster::PeerPool> peers_;
  std::unique_ptr<ClusterDriver> driver_;
  LocalRedis local_;
  ServerGate gate_;
  OrdinalLearner learner_;
  MasterLink master_;
  std::optional<int64_t> master_offset_;
  HandoverService handover_;
  CertWatch certs_;  // its watchers' threads only touch its atomics
  http::Server http_;
  // Last: its thread calls back into it until it is stopped.
  NodesConfWatch watch_;
};

}  // namespace agent::app
