// SPDX-License-Identifier: Apache-2.0
// The one definition of a formed, healthy cluster, shared by `status`, the tests and the
// benchmarks: every pod answers; in every pod's own view cluster_state is ok, all 16384 slots
// are assigned and ok, every pod's node is known at the pod's current IP, connected and not
// failing, nothing else is known, there are N/(replicas+1) masters and every master has its
// replicas. A replica whose replication link is down (e.g. still in its first sync) is a
// warning, not a failure.
#pragma once

#include <string>
#include <vector>

#include "cluster/peer_pool.h"

namespace agent::cluster {

struct Health {
  bool healthy = false;
  std::vector<std::string> problems;  // empty when healthy; each names the pod that sees it
  std::vector<std::string> warnings;  // worth showing, not failing
};

// `pods` must be probed with Depth::Snapshot, one entry per ordinal.
Health assess(const std::vector<PeerProbe>& pods, int replicas);

}  // namespace agent::cluster
