// SPDX-License-Identifier: Apache-2.0
// Which pods the agent looks at, and when: the cost of watching stays flat as the cluster
// grows. Every pass reads only the local Redis, whose CLUSTER NODES already holds the gossip
// view of every peer (address, flags, link, slots, epochs). A peer's pod is resolved and probed
// (snapshot + its agent's answer) only when that view, or its pod's DNS, says something is amiss
// with it:
//   - its node is unknown here, not confirmed by its agent yet, noaddr, fail?/fail, in a
//     handshake, or without a link; its name resolved to another address than the view has,
//     or than its last look went to (a wrong record fixed: what that look found is renewed);
//   - for every pod at once: right after the agent or its Redis (re)started, while this node
//     is empty, while slots are unassigned, while a lost node waits to be forgotten, or when
//     the caller asks (the node-timeout boost);
// plus a slow sweep every ~30 s (jittered +-20%) that resolves every name, compares the
// answers with the view, and samples one peer's own view (does it still know this node?).
// A pod that stays amiss is looked at again after 200 ms, then 400, 800, then every second;
// a new reason starts that over. One exception keeps a StatefulSet of empty pods from loading
// itself while ordinal 0 creates the cluster: an empty node that sees no peer in a cluster
// either ("waiting to be met") has nothing to heal and is met by the creator, so it looks at
// every pod only every ~10 s (jittered +-20%), with no per-pod looks in between; the first
// peer seen in a cluster, or the creator's MEET, ends that at once. Pure decisions over snapshots
// and the clock; the driver probes what it returns. The model is described in docs/identity.md.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cluster/pods.h"
#include "cluster/snapshot.h"
#include "common/clock.h"
#include "nodes_conf/ordinal_map.h"

namespace agent::cluster {

struct AttentionOptions {
  int my_ordinal = 0;
  int nodes = 0;
  int64_t fast_ms = 200;             // the first look again at a pod that stays amiss
  int64_t max_backoff_ms = 1000;     // the slowest
  int64_t sweep_ms = 30000;          // the slow sweep, jittered by +-20%
  int64_t full_look_max_ms = 10000;  // looking at everything after a restart ends by then
  int64_t waiting_ms = 10000;        // an empty node waiting to be met: every pod this often
  uint64_t seed = 0;
};

// What to probe in this pass.
struct Focus {
  std::vector<int> ordinals;  // pods to probe now
  bool all = false;           // every pod but this one: a full round
};

class Attention {
 public:
  Attention(AttentionOptions options, Clock& clock);

  // This agent or its Redis (re)started: look at every pod until each has answered or failed
  // once (or full_look_max_ms passed).
  void lookAtEverything(const std::string& why);
  bool sweepDue() const;
  // The sweep's name lookups (Pods::lastResolved, one per ordinal); schedules the next sweep.
  void noteSweep(const std::vector<PeerProbe>& resolved);
  // Decides this pass from the local node's view. `want_all`: a reason of the caller to look at
  // every pod (empty: none).
  Focus plan(const Snapshot& local, const nodes_conf::OrdinalMap& map,
             const std::vector<PeerProbe>& last, const std::string& want_all);
  // What the probe round of `focus` returned.
  void noteRound(const Focus& focus, const std::vector<PeerProbe>& probes);
  // Milliseconds until a look or the sweep is due (0: now).
  int64_t msUntilDue() const;
  // Pods under attention now (the other ordinals only cost the local view).
  int64_t watched() const { return static_cast<int64_t>(pods_.size()); }
  // This node is empty and no peer seen so far is in a cluster: it waits to be met.
  bool waitingToBeMet() const { return waiting_; }

 private:
  struct Watch {
    std::string reason;
    int64_t next_ms = 0;
    int64_t backoff_ms = 0;
  };
  struct Dns {
    std::string ip;  // empty: did not resolve
    bool known = false;
    bool checked = false;  // a probe has looked at the pod since this answer
  };
  std::map<int, std::string> podReasons(const Snapshot& local, const nodes_conf::OrdinalMap& map,
                                        const std::vector<PeerProbe>& last) const;
  std::string lookedElsewhere(int k, const std::vector<PeerProbe>& last) const;
  std::string everyPodReason(const Snapshot& local, const nodes_conf::OrdinalMap& map) const;
  // Whether `w` is due now for `reason`; a new reason starts its backoff over (and sets
  // `fresh`, for the log).
  bool due(Watch& w, const std::string& reason, int64_t now, bool& fresh);
  bool updateWaiting(const Snapshot& local, const std::vector<PeerProbe>& last, bool want_all,
                     int64_t now);
  void lookAtAll(Focus& f) const;
  int64_t jittered(int64_t ms);  // ms +-20%
  void scheduleSweep(int64_t now);

  AttentionOptions options_;
  Clock& clock_;
  std::mt19937_64 rng_;
  std::map<int, Watch> pods_;  // by ordinal, while amiss
  Watch all_;                  // the reason to look at every pod, while there is one
  std::string full_look_;      // why every pod is looked at after a restart ("" when not)
  int64_t full_look_since_ = 0;
  std::vector<bool> seen_;  // ordinals answered (or failed) since the full look began
  std::vector<Dns> dns_;    // by ordinal: the latest answer for its name
  int64_t next_sweep_ms_ = 0;
  int sample_ = -1;           // the peer the sweep samples, until looked at
  bool waiting_ = false;      // waitingToBeMet() as of the last plan
  bool local_alone_ = false;  // the local node knew no other node at the last plan
  int64_t next_wait_ms_ = 0;  // the next slow look while waiting
};

}  // namespace agent::cluster
