// SPDX-License-Identifier: Apache-2.0
// `redis-cluster-agent scale --to N [--replicas R]`: brings a running cluster to the shape of
// N pods with R replicas per master (N / (R + 1) masters), for `kubectl exec` into any pod.
// It reads the target from its flags; the chart (or scripts/local-sts) changes the shape file
// the agents follow (config/shape.h) and the StatefulSet's size around it, in this order:
//   scale out: shape file, then the StatefulSet grows, then this verb. It waits (bounded by
//     --timeout) until pods 0..N-1 are members in the roles the shape asks for (the agents
//     attach the new pods: cluster/heal_plan.h), then moves slots until every master owns an
//     even share (migrate/rebalance.h).
//   scale in: shape file, then this verb with --drain-only: every staying shard's master is
//     moved off the leaving ordinals (a graceful CLUSTER FAILOVER onto a staying replica, never
//     FORCE), the shards that go away are drained onto the staying masters, and it says which
//     pods can go; then the StatefulSet shrinks, then this verb again: once the leaving pods
//     are gone (their address answers with neither their node nor their agent) it forgets
//     their nodes on every remaining node. A node that owns slots, or that a node still
//     replicates, is never forgotten.
// Safe to run again at any point; exits 0 only when the cluster has the new shape (with
// --drain-only: when the leaving pods can be removed). Which pod runs a node is learned from
// that pod's agent (/peerinfo, cluster/agent_info.h), never from an address alone.
// Flags: --to N, --replicas R (default: as the cluster has now), --timeout SECONDS (600),
// --agent-port PORT (9839), --drain-only, and rebalance's (--seed, default $AGENT_REDIS_ADDR,
// else 127.0.0.1:6379; --password-file, default $AGENT_REDIS_PASSWORD_FILE; --batch-keys,
// --batch-slots, --migrate-timeout-ms; --test-stop-at is for tests only, app/rebalance_command.h),
// --nodes-conf PATH (default $AGENT_NODES_CONF: the ordinal map beside it names gone pods).
// Refused (exit 1, nothing changed) while slots are stranded on gone pods (cluster/stranded.h:
// a scale-in done before draining): it prints which pods to bring back, or the size to scale
// the StatefulSet back to.
#pragma once

#include <string>
#include <vector>

namespace agent::app {

bool isScaleCommand(const std::vector<std::string>& args);
int runScale(const std::vector<std::string>& args);

}  // namespace agent::app
