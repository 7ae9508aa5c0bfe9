// SPDX-License-Identifier: Apache-2.0
// The creation plan: which ordinals are masters, which slots each master gets, and which master
// each replica follows. Pure and deterministic, so every attempt of a restarted ordinal 0 makes
// the same plan and can recognise the work of an earlier attempt.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nodes_conf/nodes_conf.h"

namespace agent::cluster {

// Where a pod runs, as its agent reports it (NODE_NAME, --zone): "" = none, or not known.
struct Placement {
  std::string k8s_node;
  std::string zone;
  bool operator==(const Placement& o) const { return k8s_node == o.k8s_node && zone == o.zone; }
};

struct CreatePlan {
  int masters = 0;
  std::vector<int> master_ordinals;          // master_ordinals[i] gets slots[i]
  std::vector<nodes_conf::SlotRange> slots;  // redis-cli's ranges, in slot order
  std::map<int, int> replica_of;             // replica ordinal -> master ordinal
  int antiAffinityScore = 0;                 // 0 = no replica shares a node or zone badly

  bool isMaster(int ordinal) const { return masterIndex(ordinal).has_value(); }
  // The index into `slots` of the master with this ordinal; nullopt for a replica.
  std::optional<size_t> masterIndex(int ordinal) const;
};

// M = nodes / (replicas + 1) masters with redis-cli's slot ranges (0-5460, 5461-10922,
// 10923-16383 for three). Masters are ordinals 0..M-1 unless placements are known: then each
// next master is the lowest ordinal whose zone, then Kubernetes node, holds the fewest masters
// chosen so far (masters spread over zones and nodes; with pods spread round-robin this is still
// 0..M-1). Replicas, in ordinal order, follow the masters round-robin (by default replica r
// follows master (r - M) % M), then are swapped until no replica shares a node, then a zone,
// with its master, then until no two replicas of one master share a node, where possible.
// `pinned` relations (replicas already attached by an earlier attempt) and `pinned_masters`
// (slot range index -> ordinal that already owns it) are kept as they are.
CreatePlan planCreation(int nodes, int replicas, const std::vector<Placement>& places,
                        const std::map<int, int>& pinned = {},
                        const std::map<int, int>& pinned_masters = {});

// redis-cli's slot split for `masters` masters.
std::vector<nodes_conf::SlotRange> slotRanges(int masters);

// The score the planner minimises: 10000 per replica on its master's Kubernetes node, 100 per
// replica in its master's zone, 1 per pair of replicas of one master on the same node. Unknown
// (empty) names never score.
int antiAffinityScore(const std::map<int, int>& replica_of, const std::vector<Placement>& places);

}  // namespace agent::cluster
