// SPDX-License-Identifier: Apache-2.0
// Config -> the options of the agent's Redis clients, in one place: every command that talks to
// Redis (prepare, run, status, handover) derives its connections and its peer pool from here.
// Above cluster/ and redis/ in the module layers (docs/architecture.md); the flag parser in
// config.h stays free of them.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cluster/peer_pool.h"
#include "config/config.h"
#include "redis/connection.h"

namespace agent::config {

// Connect and command timeouts are --redis-timeout; `password` is sent with AUTH. In observe
// mode every connection refuses cluster-changing commands before sending them, so the mode is
// enforced where commands leave the process, not only by skipping the modules that act.
// With --tls=on every connection uses TLS; with --tls-verify=name the local Redis' certificate
// must be valid for this pod's DNS name (when --pod-name is known; `status` without it checks
// the chain only).
redis::ConnectOptions redisOptions(const Config& c, std::optional<std::string> password);

// The TLS options of the flags, without a server name; nullopt with --tls=off.
std::optional<redis::TlsOptions> tlsOptions(const Config& c);

// The name a server at `host` must prove with --tls-verify=name: the pod DNS name that resolves
// to `host` (the local Redis: this pod's); empty when none does, and then only the chain is
// checked (e.g. a node of another StatefulSet). Resolves every pod name per call: for the rare
// connections addressed by IP (the handover's replica), not for the poll loop.
using ServerNameFor = std::function<std::string(const std::string& host)>;
ServerNameFor serverNames(const Config& c);

// serverNames() for a process that opens many connections by address (the scale verb): a name
// given as the host is its own; an address is looked up among the pods' names, from ordinal 0
// up to --cluster-nodes and on past it to the first name that does not resolve (a scale-in's
// leaving pods run beyond the new size). The names are resolved again only for an address not
// seen yet, at most once a second.
ServerNameFor podServerNames(const Config& c);

// The pool of every pod's Redis: --cluster-nodes pods on the port of --redis-addr, their
// agents on the port of --http-addr.
cluster::PeerPoolOptions peerPoolOptions(const Config& c, std::optional<std::string> password);

}  // namespace agent::config
