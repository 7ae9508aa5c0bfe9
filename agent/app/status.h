// SPDX-License-Identifier: Apache-2.0
// `status`: the whole cluster as every pod sees it, as a table for `kubectl exec` or as JSON for
// scripts. Exit code 0 only when cluster::assess() finds it healthy.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cluster/health.h"
#include "cluster/peer_pool.h"
#include "config/config.h"

namespace agent::app {

int runStatus(const config::Config& config);

std::string renderStatusTable(const std::vector<cluster::PeerProbe>& pods,
                              const cluster::Health& health);
std::string renderStatusJson(const std::vector<cluster::PeerProbe>& pods,
                             const cluster::Health& health);

// Where each pod's node is in a password rotation to the mounted password (auth/rotation.h
// phase names, "unknown" where it could not be read), by pod name in ordinal order.
using AuthPhases = std::vector<std::pair<std::string, std::string>>;
// "" when every node is done (or none could be read); else one line that names each phase.
std::string renderRotationLine(const AuthPhases& phases);

}  // namespace agent::app
