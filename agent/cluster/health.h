// SPDX-License-Identifier: Apache-2.0
// The one definition of a formed, healthy cluster, shared by `status`, the tests and the
// benchmarks: every pod answers; in every pod's own view cluster_state is ok, all 16384 slots
// are assigned and ok, every pod's node is known at the pod's current IP, connected and not
// failing, nothing else is known, there are N/(replicas+1) masters and every master has its
// replicas. A replica whose replication link is down (e.g. still in its first sync) is a
// warning, not a failure.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "cluster/pods.h"
#include "nodes_conf/nodes_conf.h"

namespace agent::cluster {

// The flags with which a node's view marks another node as not working: failed, suspected to
// have failed, without an address, or not introduced yet.
inline constexpr std::array<const char*, 4> kNotWorkingFlags = {"fail", "fail?", "noaddr",
                                                                "handshake"};
// True when `node`, in the view it is part of, carries none of kNotWorkingFlags. Says nothing
// about that view's own link to it: a replica works while one peer's link to it is down.
bool working(const nodes_conf::Node& node);
// Working and reached: the view's own node, or a working node it has a live bus link to.
bool reachable(const nodes_conf::Node& node);

struct Health {
  bool healthy = false;
  std::vector<std::string> problems;  // empty when healthy; each names the pod that sees it
  std::vector<std::string> warnings;  // worth showing, not failing
};

// `pods` must be probed with Depth::Snapshot, one entry per ordinal.
Health assess(const std::vector<PeerProbe>& pods, int replicas);

}  // namespace agent::cluster
