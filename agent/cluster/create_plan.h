// SPDX-License-Identifier: Apache-2.0
// The creation plan: which ordinals are masters, which slots each master gets, and which master
// each replica follows. Pure and deterministic, so every attempt of a restarted ordinal 0 makes
// the same plan and can recognise the work of an earlier attempt.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nodes_conf/nodes_conf.h"

namespace agent::cluster {

struct CreatePlan {
  int masters = 0;
  std::vector<nodes_conf::SlotRange> slots;  // slots[i] for the master with ordinal i
  std::map<int, int> replica_of;             // replica ordinal -> master ordinal
  int antiAffinityScore = 0;                 // 0 = no replica shares a Kubernetes node badly
};

// Masters are ordinals 0..M-1 with M = nodes / (replicas + 1); their slot ranges are the ones
// redis-cli assigns (0-5460, 5461-10922, 10923-16383 for three). By default replica ordinal r
// follows master (r - M) % M. When Kubernetes node names are known (empty = unknown), replicas
// are swapped until no replica shares a node with its master, then until no two replicas of one
// master share a node, where possible. `pinned` relations (replicas already attached by an
// earlier attempt) are kept as they are.
CreatePlan planCreation(int nodes, int replicas, const std::vector<std::string>& k8s_nodes,
                        const std::map<int, int>& pinned = {});

// redis-cli's slot split for `masters` masters.
std::vector<nodes_conf::SlotRange> slotRanges(int masters);

// The score the planner minimises: 10000 per replica on its master's node, 1 per pair of
// replicas of one master on the same node. Unknown node names never score.
int antiAffinityScore(const std::map<int, int>& replica_of,
                      const std::vector<std::string>& k8s_nodes);

}  // namespace agent::cluster
