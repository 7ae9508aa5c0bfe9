// SPDX-License-Identifier: Apache-2.0
// How far the cluster is from the shape it follows (--shape-file / --cluster-nodes), in slots:
// what every agent shows while a scale runs, whoever runs it (the `scale` verb in a helm hook or
// a `kubectl exec`, or nobody yet). Derived from the cluster's own view, so it survives a
// restarted verb or agent and reads the same on every pod. The count is the one the verb's plan
// makes (migrate/plan.h): slots to move so that every master of the shape owns an even share and
// masters whose pods leave own none. Masters the shape wants but the view does not show yet (a
// new shard still joining) count as empty. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nodes_conf/nodes_conf.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::layout {

struct ReshapeInput {
  const nodes_conf::NodesConf* view = nullptr;  // the viewer's CLUSTER NODES
  const nodes_conf::OrdinalMap* map = nullptr;  // node ID -> ordinal; may be null
  int nodes = 0;                                // pods in the shape
  int replicas = 0;                             // replicas per master in the shape
};

struct Reshape {
  int target_masters = 0;  // masters the shape wants
  int masters_with_slots = 0;
  int leaving_slots = 0;  // slots owned by masters whose pods are beyond the shape
  int slots_to_move = 0;  // 0 when the slots are where the shape wants them
  bool known = false;     // false: no view, or a master with slots has no known ordinal
};

Reshape assessReshape(const ReshapeInput& in);

// Follows slots_to_move over the passes of one scale: from the first pass with slots to move
// until none are left, how many have moved and at what rate. The rate is the average since the
// scale began here (a move runs in batches, so a short window would swing with each batch).
class ReshapeProgress {
 public:
  struct Sample {
    int to_move = 0;
    int at_start = 0;              // the most slots to move seen since this scale began
    int moved = 0;                 // at_start - to_move
    double slots_per_second = 0;   // 0 until a slot has moved
    std::optional<int64_t> eta_s;  // at that rate; none before the first slot moved
  };
  Sample update(int to_move, int64_t now_ms);
  const Sample& last() const { return last_; }

 private:
  int64_t started_ms_ = 0;
  Sample last_;
};

}  // namespace agent::layout
