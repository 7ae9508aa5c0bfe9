// SPDX-License-Identifier: Apache-2.0
#include "cluster/snapshot.h"

#include "redis/connection.h"

namespace agent::cluster {

const nodes_conf::Node* Snapshot::myself() const {
  if (!nodes) return nullptr;
  return &nodes->myself();
}

std::string Snapshot::myId() const {
  const auto* me = myself();
  return me ? me->id : std::string();
}

Result<Snapshot> snapshotFromText(std::string_view info, std::string_view cluster_info,
                                  std::string_view cluster_nodes) {
  Snapshot s;
  s.info = redis::InfoFields::parse(info);
  s.loading = s.info.integerOr("loading", 0) != 0;
  s.keys = redis::keyCount(s.info);
  if (cluster_nodes.empty()) return s;
  s.cluster_info = redis::InfoFields::parse(cluster_info);
  auto nodes = nodes_conf::parseClusterNodes(cluster_nodes);
  if (!nodes) return fail(Errc::Protocol, "CLUSTER NODES: " + nodes.error().message);
  s.nodes = std::move(*nodes);
  return s;
}

namespace {

// Redis answered, but not to a command the agent needs (docs/redis-facts.md, "A command renamed
// away"): say which one and why it may be missing, so that nobody looks for a network problem
// (the server answers PING).
Error explained(const std::string& command, const Error& e) {
  if (!redis::isUnknownCommandError(e)) return e;
  return fail(Errc::Server, "Redis answers, but not to " + command +
                                ": it is renamed or disabled (rename-command in the Redis "
                                "configuration?); the agent needs it under its own name. "
                                "Redis said: " +
                                e.message);
}

}  // namespace

Result<Snapshot> takeSnapshot(redis::Connection& conn) {
  auto info = conn.commandString({"INFO"});
  if (!info) return explained("INFO", info.error());
  auto cluster_info = conn.commandString({"CLUSTER", "INFO"});
  if (!cluster_info) {
    if (redis::isLoadingError(cluster_info.error())) return snapshotFromText(*info, "", "");
    return explained("CLUSTER", cluster_info.error());
  }
  auto nodes = conn.commandString({"CLUSTER", "NODES"});
  if (!nodes) {
    if (redis::isLoadingError(nodes.error())) return snapshotFromText(*info, "", "");
    return explained("CLUSTER", nodes.error());
  }
  return snapshotFromText(*info, *cluster_info, *nodes);
}

}  // namespace agent::cluster
