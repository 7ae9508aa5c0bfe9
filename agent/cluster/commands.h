// SPDX-License-Identifier: Apache-2.0
// The cluster commands the agent sends, each built in one place: CLUSTER MEET with the ports a
// node announces, the MEETs that announce a new replica's role, the forced takeover of a gone
// master's slots, and reading cluster-node-timeout. Creator, healer, node-timeout boost and the
// shard guard of prepare all build their commands here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/pods.h"
#include "common/result.h"
#include "nodes_conf/nodes_conf.h"

namespace agent::redis {
class Connection;
}

namespace agent::cluster {

using Command = std::vector<std::string>;

// CLUSTER MEET <ip> <port> <bus-port>. The bus port is always given: it need not be port + 10000.
Command meetCommand(const std::string& ip, int port, int bus_port);
// MEET for `pod` at its current IP, with the ports its node announces about itself, else those
// of `known` (the pod's entry in another node's view; may be null), else fallback_port and
// fallback_port + 10000 (Redis' own default bus port).
Command meetCommand(const PeerProbe& pod, const nodes_conf::Node* known, int fallback_port);

// The MEETs a node that has just become a replica (CLUSTER REPLICATE) sends to announce it: one
// to every other live pod. Every cluster bus message carries its sender's role and master, so
// each node learns the new role at once instead of whenever it next hears from the replica
// (docs/redis-facts.md, "Role changes travel in every bus message"). With `known` (the
// replica's own view), only pods whose node is already in it: a MEET must never introduce a
// node whose cluster is not provably ours (a pod's name may lead into another cluster).
std::vector<Command> roleAnnouncement(const std::vector<PeerProbe>& pods, int replica_ordinal,
                                      int fallback_port,
                                      const nodes_conf::NodesConf* known = nullptr);

// CLUSTER FAILOVER FORCE: a replica takes its master's slots without asking the master, which
// is down; a majority of masters must still vote for it.
Command failoverForceCommand();
// Has the replica at `ordinal` take over its master's slots (failoverForceCommand). For a master
// whose identity or data is gone: the replica then holds the shard's only copy.
Status forceTakeover(Pods& pods, int ordinal);

// cluster-node-timeout as `ordinal`'s Redis runs it (CONFIG GET: nothing else reveals it);
// nullopt when CONFIG does not answer (renamed, refused, unreachable).
std::optional<int64_t> readNodeTimeout(Pods& pods, int ordinal);
std::optional<int64_t> readNodeTimeout(redis::Connection& conn);
// CONFIG SET cluster-node-timeout <ms>.
Result<redis::Reply> setNodeTimeout(Pods& pods, int ordinal, int64_t ms);

}  // namespace agent::cluster
