// SPDX-License-Identifier: Apache-2.0
// Slots stranded on gone pods: what a scale-in done in the wrong order leaves behind (e.g.
// `kubectl scale --replicas 6` on an 8-pod cluster before its shards were drained). The masters
// of the removed pods still own their slots in every view, flagged fail; no replica is left to
// take over (they were removed too), so those slots are served by nobody until the pods come
// back. Redis never reassigns them by itself, and nothing may be done to them on a guess: the
// pods' volumes (PVCs are retained on scale-in) hold the only copy of those keys. The fix is to
// scale the StatefulSet back; the nodes then come back with their data and the cluster recovers
// by itself. These pure functions find and describe such slots for the log, `status` and
// /metrics; nothing here acts (docs/redis-facts.md, "A failed master nobody can replace").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cluster/pods.h"
#include "nodes_conf/nodes_conf.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::cluster {

// One failed master whose slots nobody serves and whose pod is gone.
struct Stranded {
  std::string node_id;
  int ordinal = -1;  // its pod's ordinal; -1 when not known
  std::string pod;   // its pod's name, or "" when not known
  std::string gone;  // why its pod counts as gone
  std::vector<nodes_conf::SlotRange> slots;
  int scale_to = 0;  // the replica count that brings its pod (and its replicas' pods) back
  int slotCount() const;
};

struct StrandedInput {
  const nodes_conf::NodesConf* view = nullptr;  // the viewer's CLUSTER NODES
  // The last probe of every pod of the StatefulSet, by ordinal (0 .. nodes-1); the viewer's own
  // entry may be anything.
  const std::vector<PeerProbe>* pods = nullptr;
  const nodes_conf::OrdinalMap* map = nullptr;  // node ID -> ordinal; may be null
  int nodes = 0;                                // --cluster-nodes
  std::string set;                              // the peer host template, to name gone pods
};

// The failed masters (fail or fail? in the view) that own slots, have no working replica, and
// whose pod is gone: its ordinal is beyond --cluster-nodes, or its name no longer resolves, or
// no pod of the set is known to have run it. A pod whose name resolves but whose Redis does not
// answer is restarting, not gone, and is not reported. Sorted by ordinal, then ID.
std::vector<Stranded> findStranded(const StrandedInput& in);

// The same for a caller without probes of its own (the scale verb, which may run outside the
// pods): the pods are the ones whose agents vouched for their nodes (`vouched`: node ID ->
// ordinal), the StatefulSet's size is the highest of those ordinals plus one, `set` (the peer
// host template an agent gave) names pods, and `map` (an ordinal map the caller could read, may
// be null) gives the ordinal of a node no agent vouches for. A pod below that size whose agent
// did not answer counts as restarting, not gone; with no agent answering nothing is known of
// the StatefulSet and nothing is reported.
std::vector<Stranded> findStrandedByAgents(const nodes_conf::NodesConf& view,
                                           const std::map<std::string, int>& vouched,
                                           const std::string& set,
                                           const nodes_conf::OrdinalMap* map);

// The one line that says what happened and what to do (log, `status`).
std::string describeStranded(const Stranded& s);
// Slots in all of them.
int strandedSlots(const std::vector<Stranded>& all);

}  // namespace agent::cluster
