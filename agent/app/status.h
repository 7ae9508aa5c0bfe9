// SPDX-License-Identifier: Apache-2.0
// `status`: the whole cluster as every pod sees it, as a table for `kubectl exec` or as JSON for
// scripts. Exit code 0 only when cluster::assess() finds it healthy.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cluster/health.h"
#include "cluster/peer_pool.h"
#include "cluster/stranded.h"
#include "config/config.h"
#include "layout/plan.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::app {

int runStatus(const config::Config& config);

// The layout as `status` shows it: the keeper's plan made from one pod's view. Informative
// only: a shard off its layout does not make the cluster unhealthy.
struct LayoutStatus {
  layout::Target target = layout::Target::Ordinals;
  std::string viewer;  // the pod whose view was planned from
  layout::Plan plan;
};

// `stranded`: slots on gone pods (cluster/stranded.h); their lines are also in health.problems.
std::string renderStatusTable(const std::vector<cluster::PeerProbe>& pods,
                              const cluster::Health& health, const LayoutStatus* layout = nullptr);
std::string renderStatusJson(const std::vector<cluster::PeerProbe>& pods,
                             const cluster::Health& health, const LayoutStatus* layout = nullptr,
                             const std::vector<cluster::Stranded>* stranded = nullptr);
// Slots on gone pods, from the first answering pod's view; `map` (node ID -> ordinal, the
// agent's file beside nodes.conf) names pods that no longer answer, when readable.
std::vector<cluster::Stranded> strandedStatus(const config::Config& config,
                                              const std::vector<cluster::PeerProbe>& pods,
                                              const nodes_conf::OrdinalMap* map);
// "Open slots: redis-2 migrating 5461 to redis-6; ..." ("" when none is open).
std::string renderOpenSlots(const std::vector<cluster::PeerProbe>& pods);
// The plan from the first answering pod's view, with every pod's placement asked from its agent.
std::optional<LayoutStatus> layoutStatus(const config::Config& config,
                                         const std::vector<cluster::PeerProbe>& pods);

// What `status` warns about servers: pods older than the agent supports, pods that run
// different servers, and replicas that follow a newer master (they cannot sync from it).
std::vector<std::string> versionWarnings(const std::vector<cluster::PeerProbe>& pods);

// Where each pod's node is in a password rotation to the mounted password (auth/rotation.h
// phase names, "unknown" where it could not be read), by pod name in ordinal order.
using AuthPhases = std::vector<std::pair<std::string, std::string>>;
// "" when every node is done (or none could be read); else one line that names each phase.
std::string renderRotationLine(const AuthPhases& phases);

}  // namespace agent::app
