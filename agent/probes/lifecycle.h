// SPDX-License-Identifier: Apache-2.0
// The agent's own probes. Neither looks at Redis:
//  - /livez: the loop is not stuck. Restarting the agent cannot fix Redis, and a liveness
//    verdict tied to Redis or to the cluster would restart-loop every agent in an outage.
//  - /startupz: the agent finished its start-up work (configuration, listener, first pass of
//    the loop). With the agent as a native sidecar its startupProbe gates the start of the redis
//    container, so waiting for Redis here would deadlock the pod; the first pass only *tries*
//    the local Redis (a refused connection ends it at once).
#pragma once

#include <cstdint>
#include <vector>

#include "probes/check.h"

namespace agent::probes {

// How long the loop may go without finishing a pass before /livez fails: three poll intervals,
// but never under 30 s, because one pass may legitimately wait out several Redis timeouts
// (local snapshot, a silent peer, creation commands).
int64_t livenessLimitMs(int64_t poll_interval_ms);

// `last_pass_ms`: monotonic end of the last pass, or the agent's start before the first one.
std::vector<Check> livenessChecks(int64_t last_pass_ms, int64_t now_ms, int64_t limit_ms);

// `passes`: loop passes finished so far.
std::vector<Check> startupChecks(int64_t passes);

}  // namespace agent::probes
