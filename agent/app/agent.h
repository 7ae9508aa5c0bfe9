// SPDX-License-Identifier: Apache-2.0
// `run`: the long-running sidecar. One loop thread observes the local Redis and every peer pod,
// keeps the node-ID -> ordinal map current, drives the cluster modules and publishes what it
// saw for probes and metrics. It sleeps --poll-interval between passes, less when nodes.conf
// changes. It never writes nodes.conf: Redis owns that file while it runs (prepare is its only
// other writer).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "app/state.h"
#include "cluster/creator.h"
#include "cluster/healer.h"
#include "cluster/peer_pool.h"
#include "cluster/snapshot.h"
#include "cluster/timeout_boost.h"
#include "common/stop.h"
#include "config/config.h"
#include "control/server.h"
#include "http/server.h"
#include "metrics/exporter.h"
#include "nodes_conf/ordinal_map.h"
#include "prepare/record.h"
#include "probes/readiness.h"
#include "redis/connection.h"
#include "watch/dir_watcher.h"

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
  // Loops until `stop` is requested. Returns the process exit code. The nodes.conf watcher
  // wakes `stop` to start the next pass early.
  int run(StopSignal& stop);

 private:
  // One pass; returns how long to sleep before the next one.
  int64_t tick();
  bool observeLocal();
  void readNodeTimeout();
  void lostLocal(const Error& err);
  void learnOrdinals(const std::vector<cluster::PeerProbe>& probes);
  void saveOrdinalMap();
  void readMasterOffset();
  void ensureWatcher();
  void onFileChanged(const std::string& name);
  std::string peerInfo() const;
  void publish(int64_t pass_ms, bool stopping = false);
  void fillProbes(StateView& view);
  bool creating() const;
  int64_t heal();
  void startControl();
  // Runs on the control socket's thread; only touches thread-safe members.
  control::Line handleHandover(const control::Request& request, const control::Emit& emit);
  bool localIsMasterWithSlots();
  void lingerForHandover();
  bool sleep(StopSignal& stop, int64_t ms);

  const config::Config& config_;
  Activity activity_;
  StateStore state_;
  metrics::Exporter exporter_;  // before http_: the handlers use it until http_ stops
  int64_t started_ms_ = 0;
  redis::ConnectOptions connect_;
  cluster::PeerPool peers_;
  cluster::TimeoutBoost boost_;
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
  bool local_timed_out_ = false;
  bool local_was_up_ = false;  // "redis_unreachable" counts losing it, not every failed pass
  std::optional<int64_t> master_offset_;
  int64_t passes_ = 0;
  probes::ReadinessGate gate_;
  StopSignal* stop_ = nullptr;  // set while run() runs; the watcher wakes it
  bool watch_failed_ = false;   // logged once until it works again
  std::atomic<int64_t> nodes_conf_changes_{0};
  std::atomic<bool> record_changed_{true};
  prepare::Record prepare_record_;
  nodes_conf::OrdinalMap ordinals_;
  // ordinal -> node ID seen at the previous probe; a mapping is recorded once seen twice, so a
  // DNS answer that is briefly stale cannot teach the map a wrong pod.
  std::vector<std::string> previous_ids_;
  // Last: its thread calls back into the members above until it is destroyed.
  std::unique_ptr<watch::DirWatcher> watcher_;
};

}  // namespace agent::app
