// SPDX-License-Identifier: Apache-2.0
// Drives the cluster modules from the loop: creation (ordinal 0, until done), the node-timeout
// boost's restore, and healing. Decides which of them runs in a pass; the modules decide what
// to send. In observe mode only the peer probes run. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app/local_redis.h"
#include "cluster/creator.h"
#include "cluster/healer.h"
#include "cluster/peer_pool.h"
#include "cluster/timeout_boost.h"
#include "common/counters.h"
#include "config/config.h"
#include "layout/keeper.h"
#include "nodes_conf/ordinal_map.h"
#include "state/view.h"

namespace agent::app {

class ClusterDriver {
 public:
  ClusterDriver(const config::Config& config, cluster::PeerPool& peers, Activity& activity);

  // Creation, or a probe of every pod when there is none; then the boost's restore. Needs a
  // fresh snapshot in `local`. Returns how soon the next pass should come.
  int64_t observeAndCreate(LocalRedis& local);
  // Healing, once creation is over (act mode). Returns how soon the next pass should come.
  int64_t heal(LocalRedis& local, const nodes_conf::OrdinalMap& ordinals);
  // The layout keeper's pass, once creation is over; `leaving`: this pod is being deleted.
  // Returns how soon the next pass should come.
  int64_t keepLayout(LocalRedis& local, bool leaving);
  // Reads cluster-node-timeout from the local Redis; the healer paces forced failovers by it,
  // the layout keeper its quiet period.
  void readNodeTimeout(LocalRedis& local);
  // The creator and healer fields of the published view.
  void describe(state::StateView& view) const;

 private:
  bool acts() const { return config_.mode == config::Mode::Act; }
  bool creating() const;
  void stopWaitingIfMember(const cluster::Snapshot& local);

  const config::Config& config_;
  cluster::PeerPool& peers_;
  cluster::TimeoutBoost boost_;
  cluster::Creator creator_;
  cluster::Healer healer_;
  layout::Keeper keeper_;
  int64_t waiting_since_ms_ = 0;
};

// What a peer's agent says about its pod on the read-only listener (/peerinfo).
struct PeerInfo {
  cluster::Placement place;  // Kubernetes node and zone; "" when it has none
  int ordinal = -1;
  std::string pod;
  std::string node_id;  // its Redis' node ID; "" when it has not read it yet (or an old agent)
};

// The keeper's target for --layout-keeper.
layout::Target layoutTarget(config::LayoutKeeper k);

// Asks the agent at `ip`: nullopt when it did not answer.
std::optional<PeerInfo> fetchPeerInfo(const std::string& ip, int http_port, int64_t timeout_ms);

// What /peerinfo answers: this agent's Kubernetes node, ordinal, zone, pod name and the node ID
// of its Redis ("" while unknown).
std::string peerInfo(const config::Config& config, const std::string& node_id);

}  // namespace agent::app
