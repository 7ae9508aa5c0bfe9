// SPDX-License-Identifier: Apache-2.0
// Config -> the options of the agent's Redis clients, in one place: every command that talks to
// Redis (prepare, run, status, handover) derives its connections and its peer pool from here.
// Above cluster/ and redis/ in the module layers (docs/architecture.md); the flag parser in
// config.h stays free of them.
#pragma once

#include <optional>
#include <string>

#include "cluster/peer_pool.h"
#include "config/config.h"
#include "redis/connection.h"

namespace agent::config {

// Connect and command timeouts are --redis-timeout; `password` is sent with AUTH. In observe
// mode every connection refuses cluster-changing commands before sending them, so the mode is
// enforced where commands leave the process, not only by skipping the modules that act.
redis::ConnectOptions redisOptions(const Config& c, std::optional<std::string> password);

// The pool of every pod's Redis: --cluster-nodes pods on the port of --redis-addr, their
// agents on the port of --http-addr.
cluster::PeerPoolOptions peerPoolOptions(const Config& c, std::optional<std::string> password);

}  // namespace agent::config
