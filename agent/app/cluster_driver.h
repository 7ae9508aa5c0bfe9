// SPDX-License-Identifier: Apache-2.0
// Drives the cluster modules from the loop: creation (ordinal 0, until done), the node-timeout
// boost's restore, what to look at among the peers (cluster/attention.h) and healing. Decides
// which of them runs in a pass; the modules decide what to send. In observe mode the peers are
// still looked at, nothing is sent. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app/local_redis.h"
#include "cluster/attention.h"
#include "cluster/creator.h"
#include "cluster/healer.h"
#include "cluster/peer_pool.h"
#include "cluster/stranded.h"
#include "cluster/timeout_boost.h"
#include "common/counters.h"
#include "config/config.h"
#include "layout/keeper.h"
#include "layout/reshape.h"
#include "nodes_conf/ordinal_map.h"
#include "state/view.h"

namespace agent::app {

class ClusterDriver {
 public:
  ClusterDriver(const config::Config& config, cluster::PeerPool& peers, Activity& activity);

  // True while ordinal 0 is creating the cluster.
  bool creating() const;
  // Marks creation as done (a driver built again for a new shape, after creation).
  void creationOver(const std::string& why) {
    if (config_.ordinal == 0) creator_.finish(why);
  }
  // The local Redis was (re)connected: look at every pod again.
  void lookAgain(const std::string& why);
  // Creation, or the round of probes the attention model asks for; then the boost's restore.
  // Needs a fresh snapshot in `local`. Returns how soon the next pass should come.
  // `node_fresh`: the local node started here without an earlier nodes.conf (/peerinfo).
  int64_t observeAndCreate(LocalRedis& local, const nodes_conf::OrdinalMap& ordinals,
                           bool node_fresh);
  // Healing, once creation is over (act mode). Returns how soon the next pass should come.
  int64_t heal(LocalRedis& local, const nodes_conf::OrdinalMap& ordinals);
  // The layout keeper's pass, once creation is over; `leaving`: this pod is being deleted.
  // Returns how soon the next pass should come.
  int64_t keepLayout(LocalRedis& local, bool leaving);
  // Reads cluster-node-timeout from the local Redis; the healer paces forced failovers by it,
  // the layout keeper its quiet period.
  void readNodeTimeout(LocalRedis& local);
  // The creator, healer and watching fields of the published view.
  void describe(state::StateView& view, const nodes_conf::OrdinalMap& ordinals) const;

  // While the cluster needs attention the loop passes this often (a pod back on a new IP is
  // met within a fraction of node-timeout).
  static constexpr int64_t kAttentionPollMs = 200;
  // Each round waits at most this long for peers; a silent pod keeps its previous probe.
  static constexpr int64_t kProbeBudgetMs = 300;

 private:
  bool acts() const { return config_.mode == config::Mode::Act; }
  std::optional<layout::PeerAnswer> askPeer(const std::string& ip) const;
  void stopWaitingIfMember(const cluster::Snapshot& local);
  void look(const cluster::Snapshot& local, const nodes_conf::OrdinalMap& ordinals,
            bool node_fresh);
  void reportConflicts();
  void noteStranded(const cluster::Snapshot& local, const nodes_conf::OrdinalMap& ordinals);
  void noteReshape(const cluster::Snapshot& local, const nodes_conf::OrdinalMap& ordinals);

  const config::Config& config_;
  cluster::PeerPool& peers_;
  cluster::TimeoutBoost boost_;
  cluster::Creator creator_;
  cluster::Healer healer_;
  cluster::Attention attention_;
  layout::Keeper keeper_;
  int64_t waiting_since_ms_ = 0;
  bool full_round_ = false;  // the last round looked at every pod and none is still running
  std::vector<std::string> conflicts_;
  std::vector<cluster::Stranded> stranded_;  // as of the last look (cluster/stranded.h)
  layout::Reshape reshape_;                  // as of the last look (layout/reshape.h)
  layout::ReshapeProgress reshape_progress_;
};

// The keeper's target for --layout-keeper.
layout::Target layoutTarget(config::LayoutKeeper k);

// What this agent says about itself: ordinal, pod, StatefulSet, node, Kubernetes node and zone.
cluster::AgentInfo selfInfo(const config::Config& config, const std::string& node_id,
                            bool node_fresh);

// What /peerinfo answers: selfInfo() as of the published view.
std::string peerInfo(const config::Config& config, const state::StateView& view);

}  // namespace agent::app
