// SPDX-License-Identifier: Apache-2.0
// What one Redis node says about itself and the cluster at one moment: INFO, CLUSTER INFO and
// CLUSTER NODES, parsed. Every decision of the agent (creation, healing, probes, metrics,
// status) is made from snapshots, never from ad-hoc queries.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
  // CLUSTER NODES; absent while loading. Shared and immutable: a snapshot is copied every pass
  // (the published view, the pool's entry for this pod), and the view is the one part of it
  // that grows with the cluster.
  std::shared_ptr<const nodes_conf::NodesConf> nodes;
  int64_t keys = 0;

  const nodes_conf::Node* myself() const;
  std::string myId() const;
  bool clusterOk() const { return cluster_info.str("cluster_state") == "ok"; }
  int64_t slotsAssigned() const { return cluster_info.integerOr("cluster_slots_assigned", 0); }
  int64_t knownNodes() const { return cluster_info.integerOr("cluster_known_nodes", 0); }
  int64_t uptimeSeconds() const { return info.integerOr("uptime_in_seconds", 0); }
  bool isReplica() const { return info.str("role") == "slave"; }
};

// The last CLUSTER NODES reply of one node, parsed. A reply that differs from it only in the
// ping-sent and pong-received times (they change every second; no decision reads them) is not
// parsed again: the earlier view is shared. A healthy cluster's view therefore costs one pass
// over the reply's bytes, not a parse of every line into fresh strings.
class NodesCache {
 public:
  Result<std::shared_ptr<const nodes_conf::NodesConf>> parse(std::string_view text);
  int64_t reused() const { return reused_; }  // replies answered from the cache (tests)

 private:
  std::string key_;      // the reply of nodes_, without ping-sent and pong-received
  std::string scratch_;  // the same for the reply at hand (kept to reuse its memory)
  std::shared_ptr<const nodes_conf::NodesConf> nodes_;
  int64_t reused_ = 0;
};

// Reads a snapshot over `conn`. Transport errors are returned; -LOADING yields a snapshot with
// loading = true and no cluster data. With `cache`, an unchanged view is shared, not re-parsed.
Result<Snapshot> takeSnapshot(redis::Connection& conn, NodesCache* cache = nullptr);
// Builds a snapshot from recorded replies (tests, fixtures).
Result<Snapshot> snapshotFromText(std::string_view info, std::string_view cluster_info,
                                  std::string_view cluster_nodes, NodesCache* cache = nullptr);

}  // namespace agent::cluster
