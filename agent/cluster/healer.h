// SPDX-License-Identifier: Apache-2.0
// Self-healing, on every pod, by node ID: the agent compares what its Redis believes about each
// peer with where that peer's pod really is (its name resolves there and CLUSTER MYID there
// answers with the expected ID) and repairs the difference. It never sends CLUSTER RESET or
// FLUSHALL, and forgets a node only when that identity is certainly gone. The decisions are in
// heal_plan.h; this file sends them, no more often than each kind of action allows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/heal_plan.h"
#include "cluster/pods.h"
#include "cluster/snapshot.h"
#include "common/clock.h"
#include "common/counters.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::cluster {

struct HealerOptions {
  int my_ordinal = 0;
  int nodes = 6;
  int default_port = 6379;
  int64_t node_timeout_ms = 15000;
};

class Healer {
 public:
  Healer(HealerOptions options, Pods& pods, Activity& activity, Clock& clock = systemClock());
  // Plans from `snapshot` (the local Redis) and the pods' last probes, and sends what is due.
  // Returns true when the cluster needs attention (the loop then polls fast).
  bool step(const Snapshot& snapshot, const nodes_conf::OrdinalMap& map);
  HealPhase phase() const { return phase_; }
  void setNodeTimeout(int64_t ms) { options_.node_timeout_ms = ms; }
  const std::vector<std::string>& unexpected() const { return unexpected_; }

  // How often each kind of action is sent again while it stays planned.
  static constexpr int64_t kMeetIntervalMs = 1000;
  static constexpr int64_t kForgetIntervalMs = 1000;
  static constexpr int64_t kReplicateIntervalMs = 5000;
  // An empty node in the cluster waits this long before choosing a master, so that ordinal 0's
  // creation, which attaches planned replicas within a fraction of a second, goes first.
  static constexpr int64_t kReplicateSettleMs = 3000;
  // An outsider must be seen twice before it MEETs the cluster (a creation may be under way).
  static constexpr int64_t kJoinSettleMs = 300;

 private:
  bool due(const HealAction& a, int64_t now);
  void execute(const HealAction& a);
  void announceRole();
  void reportWaiting(const HealPlan& plan);

  HealerOptions options_;
  Pods& pods_;
  Activity& activity_;
  Clock& clock_;
  HealPhase phase_ = HealPhase::Idle;
  std::map<std::string, int64_t> last_sent_;   // action key -> monotonic ms
  std::map<std::string, int64_t> first_seen_;  // action key -> since when it has been planned
  std::string last_waiting_;
  std::vector<std::string> unexpected_;
};

}  // namespace agent::cluster
