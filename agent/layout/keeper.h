// SPDX-License-Identifier: Apache-2.0
// The layout keeper: puts each shard's master back where the layout wants it (layout/plan.h)
// with a graceful CLUSTER FAILOVER sent by the agent of the replica that is to take over, never
// FORCE or TAKEOVER, once the cluster has been healthy and unchanged for the quiet period.
//
// Who acts, so that two agents never move the same or two shards at once: every agent plans
// from its own node's view and the same rule, so in a converged cluster all agents compute the
// same ordered list of moves; only the agent whose node is the replica of the FIRST move acts.
// Before it does, it takes a fresh look at every pod: each must answer, see the cluster healthy
// (no failure flags, links up, no slot migrating, every replica's link up and not syncing),
// report the same current epoch and the same masters. Every failover raises the current epoch
// and changes a master, which restarts every agent's quiet period, so after one move nobody
// acts again until the whole cluster has been quiet once more: one shard at a time,
// cluster-wide, at most one move per quiet period. An agent whose pod is being deleted (its
// preStop asked for a handover) never acts again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cluster/pods.h"
#include "cluster/snapshot.h"
#include "common/clock.h"
#include "common/counters.h"
#include "layout/plan.h"

namespace agent::layout {

// What a peer's agent says about its pod.
struct PeerAnswer {
  std::string node_id;  // its Redis' node ID; "" from an agent that does not tell it
  Place place;
};
// Asks the agent at `ip` (the address of a node in the cluster view); nullopt: no answer.
using PeerLookup = std::function<std::optional<PeerAnswer>(const std::string& ip)>;

struct KeeperOptions {
  Target target = Target::Ordinals;
  bool acts = true;  // false in observe mode: plans and reports, never moves
  int64_t quiet_ms = 60000;
  int64_t node_timeout_ms = 15000;
  int nodes = 6;  // the StatefulSet, for the creator's plan
  int replicas = 1;
  Place me;  // this pod
};

// What the keeper saw and did in its last pass: for the view, the metrics and the log.
struct Report {
  Target target = Target::Ordinals;
  bool planned = false;  // the local node is in a formed cluster and a plan was made
  Plan plan;
  std::string state = "starting";  // off, idle, waiting, moving
  std::string detail;              // what it waits for, or what it moves
  int64_t quiet_ms = 0;            // how long the cluster has been healthy and unchanged
  int64_t needed_ms = 0;           // ... and how long it must be before a move
};

class Keeper {
 public:
  Keeper(KeeperOptions options, cluster::Pods& pods, PeerLookup lookup, Activity& activity,
         Clock& clock = systemClock());
  // One pass on the local node's snapshot. `may_act` is false while creation runs and once
  // this pod is being deleted. Returns true while a move is under way (the loop polls fast).
  bool step(const cluster::Snapshot& local, bool may_act);
  const Report& report() const { return report_; }
  void setNodeTimeout(int64_t ms) { options_.node_timeout_ms = ms; }
  // The quiet period in force: the option, but never less than 2 x cluster-node-timeout.
  int64_t neededQuietMs() const;

  // Redis gives up a manual failover after 5 s (docs/redis-facts.md, "Manual failover and
  // shutdown"); one more second for the new configuration to arrive.
  static constexpr int64_t kAttemptMs = 6000;
  // A peer agent that did not answer is asked again after this long.
  static constexpr int64_t kLookupRetryMs = 5000;
  // At most this many peer agents are asked per pass (each may cost its timeout).
  static constexpr int kLookupsPerPass = 3;
  // How long the fresh look at every pod before a move may take.
  static constexpr int64_t kConfirmBudgetMs = 2000;
  // After a failed move the next attempt waits the quiet period, doubling up to this.
  static constexpr int64_t kMaxBackoffMs = int64_t{30} * 60 * 1000;

 private:
  struct Known {
    std::string ip;
    std::optional<Place> place;
    int64_t tried_ms = 0;
  };
  struct Pending {
    Move move;
    int64_t started_ms = 0;
  };

  bool refreshPlaces(const nodes_conf::NodesConf& view, const std::string& my_id, int64_t now);
  // Whether the layout (the fingerprint) changed since the last pass; skipped, with the places,
  // when the local view is the very one of the last pass (cluster::NodesCache shares it).
  bool noteView(const cluster::Snapshot& local, const std::string& my_id, int64_t now,
                bool& placed);
  std::map<std::string, Place> places() const;
  void replan(const cluster::Snapshot& local);
  void logPlan();
  bool decide(const cluster::Snapshot& local, bool may_act, int64_t now);
  void attempt(const Move& move, const cluster::Snapshot& local, int64_t now);
  std::optional<std::string> notInSync(const Move& move);
  bool followPending(const cluster::Snapshot& local, int64_t now);
  void failed(const std::string& why, int64_t now);
  // The move would make an older node follow a newer master: not sent, tried again later.
  void refuse(const std::string& why, int64_t now);
  void wait(std::string detail);

  KeeperOptions options_;
  cluster::Pods& pods_;
  PeerLookup lookup_;
  Activity& activity_;
  Clock& clock_;
  Report report_;
  std::map<std::string, Known> known_;  // by node ID
  std::string fingerprint_;
  std::shared_ptr<const nodes_conf::NodesConf> seen_view_;  // the view fingerprint_ is of
  std::string seen_epoch_;                                  // and its cluster_current_epoch
  bool places_settled_ = false;  // every node of seen_view_ had a place at its address
  int64_t quiet_since_ms_ = 0;
  std::string logged_plan_;
  std::optional<Pending> pending_;
  int64_t next_attempt_ms_ = 0;
  int64_t backoff_ms_ = 0;
  std::string held_back_;  // why the next attempt waits for next_attempt_ms_
};

// Why `snap`, one node's own view, shows a cluster that is not healthy and settled (a failure
// flag, a link down, a slot migrating, a replica out of sync); nullopt when it is.
std::optional<std::string> unsettled(const cluster::Snapshot& snap);
// What must stay the same for the cluster to count as quiet: the current epoch and every node's
// address, role, master and slots in `snap`'s view.
std::string fingerprint(const cluster::Snapshot& snap);

}  // namespace agent::layout
