// SPDX-License-Identifier: Apache-2.0
// Self-healing, on every pod, by node ID: the agent compares what its Redis believes about each
// peer with where that peer's pod really is (its name resolves there and CLUSTER MYID there
// answers with the expected ID) and repairs the difference. It never sends CLUSTER RESET or
// FLUSHALL, forgets a node only when that identity is provably lost, and never introduces a
// node whose cluster is not provably ours (refusals are logged once and counted as
// ErrorKind::ForeignNode). The decisions are in heal_plan.h; this file sends them, no more often
// than each kind of action allows.
#pragma once

#include <cstdint>
#include <map>
#include <set>
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
  std::string set;    // this StatefulSet's peer host template (cluster/identity.h)
  int replicas = -1;  // replicas per master of the shape; -1: not known (joiners are replicas)
};

class Healer {
 public:
  Healer(HealerOptions options, Pods& pods, Activity& activity, Clock& clock = systemClock());
  // Plans from `snapshot` (the local Redis) and the pods' last probes, and sends what is due.
  // `full_round`: the last probe round looked at every pod. Returns true while repairs are
  // planned or waiting (the loop then passes again soon).
  bool step(const Snapshot& snapshot, const nodes_conf::OrdinalMap& map, bool full_round);
  HealPhase phase() const { return phase_; }
  void setNodeTimeout(int64_t ms) { options_.node_timeout_ms = ms; }
  const std::vector<std::string>& unexpected() const { return unexpected_; }
  // Nodes refused in the last step (not provably of this cluster), one line each.
  const std::vector<std::string>& refused() const { return refused_; }

  // How often each kind of action is sent again while it stays planned.
  static constexpr int64_t kMeetIntervalMs = 1000;
  static constexpr int64_t kForgetIntervalMs = 1000;
  static constexpr int64_t kReplicateIntervalMs = 5000;
  // An empty node in the cluster waits this long before choosing a master, so that ordinal 0's
  // creation, which attaches planned replicas within a fraction of a second, goes first.
  static constexpr int64_t kReplicateSettleMs = 3000;
  // An outsider must be seen twice before it MEETs the cluster (a creation may be under way).
  static constexpr int64_t kJoinSettleMs = 300;
  // An action not planned for this long starts its settle time over when planned again. Longer
  // than the slowest look at a pod (cluster/attention.h), so passes that did not probe the pod
  // in between do not reset it.
  static constexpr int64_t kPlannedMemoryMs = 2500;

 private:
  bool due(const HealAction& a, int64_t now);
  void execute(const HealAction& a, const Snapshot& local);
  void announceRole(const Snapshot& local);
  void reportWaiting(const HealPlan& plan);
  void reportRefusals(const HealPlan& plan);

  HealerOptions options_;
  Pods& pods_;
  Activity& activity_;
  Clock& clock_;
  HealPhase phase_ = HealPhase::Idle;
  std::map<std::string, int64_t> last_sent_;     // action key -> monotonic ms
  std::map<std::string, int64_t> first_seen_;    // action key -> since when it has been planned
  std::map<std::string, int64_t> last_planned_;  // action key -> when it was last planned
  std::string last_waiting_;
  std::vector<std::string> unexpected_;
  std::vector<std::string> refused_;
  std::set<std::string> reported_refusals_;  // Refusal keys already logged and counted
};

}  // namespace agent::cluster
