// SPDX-License-Identifier: Apache-2.0
// What counts as evidence of identity. A DNS answer or a node ID answering at an address is a
// hint: a stale or reused record leads to another pod of ours, or to a node of another cluster,
// whose Redis answers just the same. Evidence is what one wrong record cannot fake:
//   - a pod is vouched for when the agent at its address says it IS that ordinal of this
//     StatefulSet (same peer host template) and runs the node that answered there; a record
//     pointing at pod 2 gets pod 2's agent saying "ordinal 2";
//   - an identity is lost (cluster/heal_plan.cpp) only when its pod's agent vouches for a
//     different node that started in that pod without any earlier nodes.conf;
//   - a node is ours to introduce (MEET) only when our own view already knows its ID, or its
//     agent vouches for it and its node belongs to the cluster the other vouched pods agree on.
// Pure functions over probes; docs/identity.md tells the whole model.
#pragma once

#include <string>
#include <vector>

#include "cluster/pods.h"

namespace agent::cluster {

enum class Vouch {
  Confirmed,  // the agent at the pod's address is that pod's, of this StatefulSet, with its node
  NotAsked,   // the probe did not ask the agent, or found no Redis to ask about
  NoAgent,    // no agent answered at the pod's address
  OtherPod,   // an agent of this StatefulSet answered, but for another ordinal
  OtherSet,   // an agent of another StatefulSet answered
  OtherNode,  // the pod's own agent reports another node than the one answering (restarting)
};

struct Verdict {
  Vouch vouch = Vouch::NotAsked;
  std::string why;  // empty when confirmed; else says what was found, naming the pod
};

// How far the last probe of `pod` proves that its address is that pod's. `set` is this
// StatefulSet's peer host template.
Verdict vouchFor(const PeerProbe& pod, const std::string& set);
inline bool vouched(const PeerProbe& pod, const std::string& set) {
  return vouchFor(pod, set).vouch == Vouch::Confirmed;
}

// Positive evidence that a pod's name leads somewhere else (another pod or StatefulSet).
inline bool misdirected(const Verdict& v) {
  return v.vouch == Vouch::OtherPod || v.vouch == Vouch::OtherSet;
}

// The pods whose name, at their last probe, led to another pod or StatefulSet: one line each.
std::vector<std::string> identityConflicts(const std::vector<PeerProbe>& pods, int my_ordinal,
                                           const std::string& set);

// Of `members` (pods of formed clusters, each vouched for), the ones whose nodes form the one
// cluster most of them agree on: pods that know each other's node are in one cluster; the
// largest such group wins, and only if no other group is as large. `outsiders` gets the rest.
std::vector<const PeerProbe*> agreedCluster(const std::vector<const PeerProbe*>& members,
                                            std::vector<const PeerProbe*>& outsiders);

}  // namespace agent::cluster
