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

Result<Snapshot> takeSnapshot(redis::Connection& conn) {
  auto info = conn.commandString({"INFO"});
  if (!info) return info.error();
  auto cluster_info = conn.commandString({"CLUSTER", "INFO"});
  if (!cluster_info) {
    if (redis::isLoadingError(cluster_info.error())) return snapshotFromText(*info, "", "");
    return cluster_info.error();
  }
  auto nodes = conn.commandString({"CLUSTER", "NODES"});
  if (!nodes) {
    if (redis::isLoadingError(nodes.error())) return snapshotFromText(*info, "", "");
    return nodes.error();
  }
  return snapshotFromText(*info, *cluster_info, *nodes);
}

}  // namespace agent::cluster
