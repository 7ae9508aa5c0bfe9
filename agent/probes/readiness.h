// SPDX-License-Identifier: Apache-2.0
// Readiness of one Redis node: can it serve its own part of the keyspace? Decided from the
// node's own snapshot only, so losing one shard leaves the other shards' pods ready (a
// cluster-wide verdict would make every pod unready and block every drain through the PDB),
// and no check waits for another pod to be ready, so neither bootstrap nor a full restart can
// deadlock. Checks, in order:
//   redis-ping        the local Redis answered the last pass
//   redis-loading     it is not loading its dataset (PING would answer -LOADING)
//   cluster-joined    a master owning slots, or a replica of one
//   replication       replicas: link to the master up, no full sync in progress
//   shard-slots       the master of this node's shard is not flagged failing in its view
//   cluster-majority  it reaches a majority of the masters that own slots
//   cluster-state     Redis does not hold it at cluster_state fail while its view has every
//                     slot served (a master's delay after a restart or rejoin: CLUSTERDOWN)
// The last one is the guard against docs/redis-facts.md, "Startup": right after a restart a node
// trusts its old nodes.conf and may claim slots that were failed over meanwhile; until its bus
// links are up it is not ready, and once they are, gossip corrects it within one round trip.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/snapshot.h"
#include "probes/check.h"

namespace agent::probes {

// What the loop saw of the local Redis in one pass: a snapshot, or why there is none.
struct Observation {
  const cluster::Snapshot* snapshot = nullptr;  // null when Redis did not answer
  std::string error;                            // why it did not answer
  bool timed_out = false;                       // it did not answer in time (vs refused)
  bool answered = false;  // it answered, with an error (e.g. a command renamed away)
};

// The instant verdict of one observation, one Check per name above, always in that order.
std::vector<Check> readinessChecks(const Observation& obs);

struct GateTiming {
  int64_t rise_ms = 1000;  // a failing check must pass this long before it counts as passing
  int64_t fall_ms = 3000;  // a soft failure must last this long before it counts
};

// Hysteresis over successive instant verdicts, per check: a hard failure counts at once, a soft
// one after fall_ms, and any failed check passes again only after rise_ms of passing. Every
// check starts failed. Used by the loop thread only.
class ReadinessGate {
 public:
  explicit ReadinessGate(GateTiming timing = {}) : timing_(timing) {}
  // Feeds the instant checks of the pass that ended at monotonic `now_ms`; returns the checks
  // as /readyz reports them.
  std::vector<Check> update(const std::vector<Check>& instant, int64_t now_ms);

 private:
  struct Track {
    bool ok = false;
    int64_t failing_since = -1;
    int64_t passing_since = -1;
    std::string reason;  // of the failure that counts
  };
  Check step(Track& t, const Check& c, int64_t now_ms) const;

  GateTiming timing_;
  std::map<std::string, Track> tracks_;
};

}  // namespace agent::probes
