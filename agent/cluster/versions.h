// SPDX-License-Identifier: Apache-2.0
// Server versions in the cluster: which server each node runs (from the pods' probes) and
// whether an action would make a node follow a master it cannot replicate from. A full sync
// sends the master's RDB format and an older server cannot load a newer one's
// (docs/redis-facts.md, "Server versions and which way replication works"), so the agent never
// makes an older node follow a newer master. Pure; the creator, healer and layout keeper refuse
// with what it returns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/pods.h"
#include "redis/server_info.h"

namespace agent::cluster {

// The server of node `id`: from the last probe of the pod that runs it (a stale one too: a
// node's server changes only when it restarts, and the probe after that sees it). nullopt when
// no probe has read it (e.g. no pod of this StatefulSet runs the node).
std::optional<redis::ServerInfo> serverOf(const std::vector<PeerProbe>& pods,
                                          const std::string& id);

// A node as a version check names it.
struct Versioned {
  std::string name;  // pod name, else the short node ID
  std::optional<redis::ServerInfo> server;
};

// Why `follower` must not follow `master` (both named with their servers); nullopt when it may.
// A node whose server is not known is not refused: the agent reads the server of every pod it
// acts on, so an unknown one is a node outside the StatefulSet (an old pod being adopted).
std::optional<std::string> followRefusal(const Versioned& follower, const Versioned& master);

// The pods whose server is older than the agent supports, one line each ("redis-3 runs Redis
// 5.0.1: ..."); pods whose server is not known are left out.
std::vector<std::string> unsupportedPods(const std::vector<PeerProbe>& pods);

}  // namespace agent::cluster
