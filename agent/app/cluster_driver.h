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
  // Reads cluster-node-timeout from the local Redis; the healer paces forced failovers by it.
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
  int64_t waiting_since_ms_ = 0;
};

// The Kubernetes node of a peer pod, as its agent reports it on the read-only listener:
// nullopt when it did not answer, "" when it has none.
std::optional<std::string> fetchK8sNode(const cluster::PeerProbe& pod, int http_port,
                                        int64_t timeout_ms);

// What /peerinfo answers: this agent's Kubernetes node and ordinal.
std::string peerInfo(const config::Config& config);

}  // namespace agent::app
