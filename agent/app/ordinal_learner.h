// SPDX-License-Identifier: Apache-2.0
// Keeps the node-ID -> ordinal map beside nodes.conf current from what the loop sees: this
// node's own ID, and every peer pod's ID once it answered with the same one twice in a row, so
// a DNS answer that is briefly stale cannot teach the map a wrong pod. prepare reads the map
// after the next restart. Loop thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/peer_pool.h"
#include "cluster/snapshot.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::app {

class OrdinalLearner {
 public:
  // Starts from the map on disk, if there is a readable one.
  OrdinalLearner(const std::string& nodes_conf, std::optional<int> my_ordinal, int cluster_nodes);

  // Learns from one pass; saves the map when it changed or when someone deleted the file.
  void learn(const std::optional<cluster::Snapshot>& local,
             const std::vector<cluster::PeerProbe>& probes);
  const nodes_conf::OrdinalMap& map() const { return map_; }

 private:
  void save();

  std::string path_;
  std::optional<int> my_ordinal_;
  nodes_conf::OrdinalMap map_;
  std::vector<std::string> previous_ids_;  // ordinal -> node ID seen at the previous probe
};

}  // namespace agent::app
