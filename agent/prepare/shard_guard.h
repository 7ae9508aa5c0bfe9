// SPDX-License-Identifier: Apache-2.0
// The guard for a master that comes back without its data (persistence off, or the files
// lost) but with its nodes.conf: it would claim its slots again, and its replica would then
// copy the empty dataset. Before Redis starts, the guard has the best replica take the slots
// over (cluster::forceTakeover: the old master is down and its data is gone, so the replica
// holds the only copy); Redis then starts, learns the new owner and becomes its replica. The
// guard decides; the command itself is one of the cluster actions in cluster/commands.h.
#pragma once

#include <cstdint>
#include <vector>

#include "cluster/pods.h"
#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "nodes_conf/nodes_conf.h"

namespace agent::peers {
class Resolver;
}

namespace agent::prepare {

// Returns when it is safe for Redis to start: this node owns no slots, or has data files, or
// another node owns its slots now, or no replica of it exists anywhere. Errc::Refused when a
// replica exists but did not take over within config.takeover_timeout_ms.
Status guardShardData(const config::Config& config, const nodes_conf::NodesConf& conf,
                      peers::Resolver& resolver);

// What one look at the live pods says about a data-less master's shard (`conf` is its
// nodes.conf). Pure.
struct GuardDecision {
  enum class Kind {
    OwnerElsewhere,  // another master owns its slots now: start, and follow it
    NoReplica,       // no replica exists anywhere: the data is lost, start empty
    ReplicaEmpty,    // the best replica holds no keys either: nothing to protect
    Wait,            // a replica exists: it must take over first
  };
  Kind kind = Kind::Wait;
  const cluster::PeerProbe* pod = nullptr;  // the new owner, or the best answering replica
};
GuardDecision decideShardGuard(const std::vector<cluster::PeerProbe>& pods,
                               const nodes_conf::NodesConf& conf);

struct GuardOptions {
  int64_t takeover_timeout_ms = 30000;  // how long the replica gets to take over
  int64_t probe_budget_ms = 2000;       // each look at the pods waits at most this long
};

// The guard's loop over `pods`: looks every kPollMs, asks the best replica to take over (again
// every kRetryForceMs while it has not), and returns as guardShardData does.
Status awaitTakeover(const GuardOptions& options, const nodes_conf::NodesConf& conf,
                     cluster::Pods& pods, Clock& clock);

inline constexpr int64_t kGuardPollMs = 200;
inline constexpr int64_t kGuardRetryForceMs = 5000;

}  // namespace agent::prepare
