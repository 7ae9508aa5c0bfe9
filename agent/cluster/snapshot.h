// SPDX-License-Identifier: Apache-2.0
// What one Redis node says about itself and the cluster at one moment: INFO, CLUSTER INFO and
// CLUSTER NODES, parsed. Every decision of the agent (creation, healing, probes, metrics,
// status) is made from snapshots, never from ad-hoc queries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "nodes_conf/nodes_conf.h"
#include "redis/info.h"

namespace agent::redis {
class Connection;
}

namespace agent::cluster {

struct Snapshot {
  bool loading = false;    // -LOADING: only INFO answers
  redis::InfoFields info;  // INFO (default sections)
  redis::InfoFields cluster_info;
  std::optional<nodes_conf::NodesConf> nodes;  // CLUSTER NODES; absent while loading
  int64_t keys = 0;

  const nodes_conf::Node* myself() const;
  std::string myId() const;
  bool clusterOk() const { return cluster_info.str("cluster_state") == "ok"; }
  int64_t slotsAssigned() const { return cluster_info.integerOr("cluster_slots_assigned", 0); }
  int64_t knownNodes() const { return cluster_info.integerOr("cluster_known_nodes", 0); }
  int64_t uptimeSeconds() const { return info.integerOr("uptime_in_seconds", 0); }
  bool isReplica() const { return info.str("role") == "slave"; }
};

// Reads a snapshot over `conn`. Transport errors are returned; -LOADING yields a snapshot with
// loading = true and no cluster data.
Result<Snapshot> takeSnapshot(redis::Connection& conn);
// Builds a snapshot from recorded replies (tests, fixtures).
Result<Snapshot> snapshotFromText(std::string_view info, std::string_view cluster_info,
                                  std::string_view cluster_nodes);

}  // namespace agent::cluster
