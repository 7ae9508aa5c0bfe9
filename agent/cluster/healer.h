// SPDX-License-Identifier: Apache-2.0
// Self-healing, on every pod, by node ID: the agent compares what its Redis believes about each
// peer with where that peer's pod really is (its name resolves there and CLUSTER MYID there
// answers with the expected ID) and repairs the difference. It never sends CLUSTER RESET or
// FLUSHALL, and forgets a node only when that identity is certainly gone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/peer_pool.h"
#include "cluster/snapshot.h"
#include "common/counters.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::redis {
class Connection;
}

namespace agent::cluster {

enum class HealPhase {
  Idle,     // nothing to repair
  Healing,  // addresses or stale nodes being repaired
  Joining,  // this node is empty and joins the existing cluster
  Waiting,  // something must happen first (e.g. a failover in progress)
};
const char* healPhaseName(HealPhase phase);

struct HealAction {
  enum class Kind { Meet, Replicate, Forget, FailoverForce };
  Kind kind = Kind::Meet;
  int target = -1;  // ordinal of the pod whose Redis gets the command; -1 = the local Redis
  std::vector<std::string> args;
  std::string subject;  // pod or node the action is about (for logs)
  std::string reason;
  std::string key() const;  // identity for rate limiting
};

struct HealInput {
  int my_ordinal = 0;
  int nodes = 0;  // pods in the StatefulSet
  int default_port = 6379;
  const Snapshot* local = nullptr;               // this pod's Redis
  const std::vector<PeerProbe>* pods = nullptr;  // every ordinal, probed with snapshots
  const nodes_conf::OrdinalMap* map = nullptr;   // incl. retired IDs
};

struct HealPlan {
  HealPhase phase = HealPhase::Idle;
  std::vector<HealAction> actions;
  std::vector<std::string> waiting;     // why nothing can be done yet
  std::vector<std::string> unexpected;  // nodes in the cluster that are no pod of this set
};

// Pure decision for one pass; unit-tested on recorded states.
HealPlan planHealing(const HealInput& in);

struct HealerOptions {
  int my_ordinal = 0;
  int nodes = 6;
  int default_port = 6379;
  int64_t node_timeout_ms = 15000;
};

class Healer {
 public:
  Healer(HealerOptions options, PeerPool& pool, Activity& activity);
  // Plans and executes one pass. Returns true when the cluster needs attention (the loop then
  // polls fast).
  bool step(redis::Connection& local, const Snapshot& snapshot, const nodes_conf::OrdinalMap& map);
  HealPhase phase() const { return phase_; }
  void setNodeTimeout(int64_t ms) { options_.node_timeout_ms = ms; }
  const std::vector<std::string>& unexpected() const { return unexpected_; }

 private:
  bool due(const HealAction& a, int64_t now);
  void execute(redis::Connection& local, const HealAction& a);
  void announceRole(redis::Connection& local);
  void reportWaiting(const HealPlan& plan);

  HealerOptions options_;
  PeerPool& pool_;
  Activity& activity_;
  HealPhase phase_ = HealPhase::Idle;
  std::map<std::string, int64_t> last_sent_;   // action key -> monotonic ms
  std::map<std::string, int64_t> first_seen_;  // action key -> since when it has been planned
  std::string last_waiting_;
  std::vector<std::string> unexpected_;
};

}  // namespace agent::cluster
