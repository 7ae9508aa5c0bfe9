// SPDX-License-Identifier: Apache-2.0
// The agent's published state: a snapshot the loop replaces after every pass and that probes,
// metrics and status read without ever waiting on Redis. Readers get a shared_ptr to an
// immutable view, so a probe costs one mutex-protected pointer copy.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/creator.h"
#include "cluster/peer_pool.h"
#include "cluster/snapshot.h"

namespace agent::app {

struct StateView {
  int64_t started_ms = 0;  // monotonic, when the agent started
  int64_t updated_ms = 0;  // monotonic, end of the last loop pass
  bool redis_reachable = false;
  std::string redis_error;                 // why the local Redis did not answer
  std::optional<cluster::Snapshot> local;  // the local Redis, absent when unreachable
  std::vector<cluster::PeerProbe> peers;   // last probe of every pod, by ordinal
  bool creator_active = false;             // this agent is ordinal 0 and creation is not done
  cluster::CreatePhase create_phase = cluster::CreatePhase::WaitingForPeers;
  bool stopping = false;
};

class StateStore {
 public:
  void publish(std::shared_ptr<const StateView> view) {
    std::lock_guard lock(mu_);
    view_ = std::move(view);
  }
  std::shared_ptr<const StateView> get() const {
    std::lock_guard lock(mu_);
    return view_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const StateView> view_ = std::make_shared<StateView>();
};

}  // namespace agent::app
