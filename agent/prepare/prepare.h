// SPDX-License-Identifier: Apache-2.0
// `prepare`: runs before redis-server starts and is the only writer of nodes.conf. It puts every
// node's current address into the file (myself from POD_IP, peers from their pod names via the
// node-ID -> ordinal map), so a pod - or every pod at once - that comes back with a new IP
// rejoins. It refuses, changing nothing, whenever the files are not what it can vouch for.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "nodes_conf/nodes_conf.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::peers {
class Resolver;
}

namespace agent::prepare {

struct AddressChange {
  size_t index = 0;  // node index in the NodesConf
  std::string node_id;
  std::string old_host;
  std::string new_host;
  std::string reason;
};

struct Unresolved {
  std::string node_id;
  std::string why;
};

struct RewritePlan {
  std::vector<AddressChange> changes;
  std::vector<Unresolved> kept;  // peers whose address could not be checked, kept as they were
};

// Resolves the pod with the given ordinal to an IP literal.
using ResolveOrdinal = std::function<Result<std::string>(int ordinal)>;

// Wraps `resolve` so that a pod whose name does not resolve yet is asked again every
// `retry_ms` until `wait_ms` after the first such miss. The deadline is shared by every name, so
// prepare as a whole waits at most `wait_ms`, however many peers are missing.
ResolveOrdinal withDnsWait(ResolveOrdinal resolve, int64_t wait_ms, int64_t retry_ms = 200);

// Decides the new host of every node: myself -> my_ip; a peer -> the resolved IP of its
// ordinal, found in `map` or, failing that, by a hostname field equal to a pod name. All
// substitutions are decided from the old file at once, so swapped or reused IPs end up right.
RewritePlan planRewrite(const nodes_conf::NodesConf& conf, const nodes_conf::OrdinalMap& map,
                        const std::string& my_ip, int cluster_nodes,
                        const std::function<std::string(int)>& pod_host,
                        const ResolveOrdinal& resolve);

enum class Outcome { FreshNode, Unchanged, Rewritten };

struct Report {
  Outcome outcome = Outcome::Unchanged;
  RewritePlan plan;
};

// The whole command: checks, plan, backup, atomic write, include file. Logs every decision.
Result<Report> run(const config::Config& config, peers::Resolver& resolver);

// Data files Redis would load (RDB, AOF) that exist in `data_dir`.
std::vector<std::string> dataFilesIn(const std::string& data_dir);

// The redis.conf include: cluster-announce-ip (so this node states its address from its first
// packet, even with a fresh or wiped nodes.conf), Valkey's cluster-announce-human-nodename
// when `human_nodename` is set (Valkey gossips it: every node's cluster log lines and
// nodes.conf name the pod), and requirepass/masterauth
// with the password quoted for redis.conf's parser.
std::string renderInclude(const std::optional<std::string>& password,
                          const std::string& announce_ip, const std::string& human_nodename = "");

}  // namespace agent::prepare
