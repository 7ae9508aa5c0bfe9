// SPDX-License-Identifier: Apache-2.0
// The guard for a master that comes back without its data (persistence off, or the files
// lost) but with its nodes.conf: it would claim its slots again, and its replica would then
// copy the empty dataset. Before Redis starts, the guard has the best replica take the slots
// over (CLUSTER FAILOVER FORCE: the old master is down and its data is gone, so the replica
// holds the only copy); Redis then starts, learns the new owner and becomes its replica.
#pragma once

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

}  // namespace agent::prepare
