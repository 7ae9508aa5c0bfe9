// SPDX-License-Identifier: Apache-2.0
// Keeps what the agent knows about identities beside nodes.conf:
//   - the node-ID -> ordinal map (statefile::kOrdinalMap): this node's own ID, and every peer's
//     once the pod's own agent vouched for it (cluster/identity.h). An ID answering at a pod's
//     address is never enough: a stale DNS record leads to another pod. prepare reads the map
//     after the next restart;
//   - this data directory's own history (statefile::kIdentity): each node that ran here and
//     whether it started without any earlier nodes.conf (a fresh node: the volume was new or
//     wiped). /peerinfo reports it; it is the evidence that an earlier identity of this pod is
//     lost. A node first seen already knowing other nodes, or holding slots or keys, is recorded
//     as inherited: whatever came before it is not known to be gone.
// Loop thread only.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/peer_pool.h"
#include "cluster/snapshot.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::app {

class OrdinalLearner {
 public:
  // Starts from the files on disk, if they are readable. `set`: this StatefulSet's peer host
  // template.
  OrdinalLearner(const std::string& nodes_conf, std::optional<int> my_ordinal, std::string set);

  // Records the local node (its ordinal, and its birth in this data directory); first in a pass.
  void noteLocal(const cluster::Snapshot& local);
  // Learns from the pass's probes: a pod whose own agent vouches for it, running a node the
  // local view already knows (a pod's name may lead to an agent of another cluster with the
  // same names). Saves the map when it changed or when someone deleted it.
  void learn(const std::vector<cluster::PeerProbe>& probes);
  const nodes_conf::OrdinalMap& map() const { return map_; }
  // The local node (as of the last learn) started in this data directory without any earlier
  // nodes.conf.
  bool nodeFresh() const { return fresh_; }

  static constexpr size_t kMaxBirths = 16;

 private:
  struct Birth {
    std::string id;
    bool fresh = false;
  };
  void save();
  void noteOwnNode(const cluster::Snapshot& local);
  void saveBirths();

  std::string path_;
  std::string identity_path_;
  std::optional<int> my_ordinal_;
  std::string set_;
  nodes_conf::OrdinalMap map_;
  std::vector<Birth> births_;  // oldest first
  bool fresh_ = false;
  bool changed_ = false;         // the map changed since it was last saved
  std::set<std::string> known_;  // the node IDs in the local view, as of noteLocal
  // The view known_ was built from: an unchanged view (cluster::NodesCache) is not walked again.
  std::shared_ptr<const nodes_conf::NodesConf> known_view_;
};

// True when `local` shows a node as Redis starts it without a nodes.conf: it knows only itself,
// owns no slots, holds no keys, and both its epochs are 0.
bool bornEmpty(const cluster::Snapshot& local);

}  // namespace agent::app
