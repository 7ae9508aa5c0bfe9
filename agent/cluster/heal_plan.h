// SPDX-License-Identifier: Apache-2.0
// The healer's decisions, kept pure so they can be tested on recorded states: what to repair in
// one pass, judged by node ID from the local node's view and every pod's own. No I/O, no logging;
// cluster/healer.h sends what is planned here.
#pragma once

#include <string>
#include <vector>

#include "cluster/pods.h"
#include "cluster/snapshot.h"
#include "nodes_conf/ordinal_map.h"

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
  int target = kLocal;  // ordinal of the pod whose Redis gets the command, or kLocal
  std::vector<std::string> args;
  std::string subject;  // pod or node the action is about (for logs)
  std::string reason;
  std::string key() const;  // identity for rate limiting
};

struct HealInput {
  int my_ordinal = 0;
  int nodes = 0;  // pods in the StatefulSet
  int default_port = 6379;
  const Snapshot* local = nullptr;  // this pod's Redis
  // Every ordinal: the last probe of each, with snapshots and the agents' answers. Only live
  // ones (probed in this round) are acted on.
  const std::vector<PeerProbe>* pods = nullptr;
  const nodes_conf::OrdinalMap* map = nullptr;  // incl. retired IDs
  std::string set;          // this StatefulSet's peer host template (cluster/identity.h)
  bool full_round = false;  // this round looked at every pod (forgetting needs every view)
  // Replicas per master of the shape (config/shape.h): with it, empty nodes that join while the
  // cluster has fewer shards than nodes / (replicas + 1) stay masters of new shards. -1: not
  // known; every empty node becomes a replica.
  int replicas = -1;
};

// A node the plan will not introduce into the cluster, and why.
struct Refusal {
  std::string key;     // identity of the refusal (pod, node, kind), to report each once
  std::string pod;     // the pod whose name led to it
  std::string reason;  // what was found
};

struct HealPlan {
  HealPhase phase = HealPhase::Idle;
  std::vector<HealAction> actions;
  std::vector<std::string> waiting;     // why nothing can be done yet
  std::vector<std::string> unexpected;  // nodes in the cluster that are no pod of this set
  std::vector<Refusal> refused;         // nodes not provably of this cluster, never met
  // Replications refused because an older node would follow a newer master (cluster/versions.h),
  // one line each naming both nodes and their servers.
  std::vector<std::string> older_replica;
};

// How long (Redis uptime) an empty node that a creator gave its config epoch leaves its
// placement to that creator before it joins the cluster as a replica on its own.
inline constexpr int64_t kCreatorGraceS = 60;

// Pure decision for one pass; unit-tested on recorded states.
HealPlan planHealing(const HealInput& in);

}  // namespace agent::cluster
