// SPDX-License-Identifier: Apache-2.0
// A rebalance from start to end: read every master's own view, finish the slot moves an earlier
// attempt left open (like `redis-cli --cluster fix`, but never by overwriting a key), plan the
// moves (migrate/plan.h) and carry them out slot by slot (migrate/mover.h), several source ->
// target pairs at once, with a progress line.
// Safe to run again at any point: a run that was stopped is completed by the next one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/result.h"
#include "migrate/mover.h"
#include "migrate/nodes.h"
#include "migrate/plan.h"
#include "nodes_conf/nodes_conf.h"

namespace agent::migrate {

// One master as it sees itself.
struct Master {
  Peer peer;
  std::vector<int> slots;                  // ascending
  std::vector<nodes_conf::OpenSlot> open;  // its MIGRATING/IMPORTING markers
};

// A slot an earlier move left open, and where its move resumes.
struct Repair {
  int slot = 0;
  std::string from;
  std::string to;
  Phase phase = Phase::Open;
};

// The masters of a CLUSTER NODES view that can take part (not failed, not in handshake, with an
// address). `seed_host` stands in for myself's host when the view leaves it empty.
std::vector<Peer> mastersIn(const nodes_conf::NodesConf& view, const std::string& seed_host);

// Each master's own CLUSTER NODES (peers that say they are replicas now are left out). Refused
// unless every master knows every other one (a new
// master must have been met by all before it can import: the source's ASK and the others'
// SETSLOT NODE name it by ID), reports cluster_state:ok (a master that is not ok answers
// CLUSTERDOWN to MIGRATE's RESTORE: a master just added stays so for up to 5 s,
// docs/redis-facts.md "The rejoin delay of a master") and every slot has exactly one owner.
Result<std::vector<Master>> readMasters(Nodes& nodes, const std::vector<Peer>& peers);

// How to finish each open slot: the target owns it already (drain what is left, then close), or
// the source still does (the whole move again; every step repeats safely). Refused with the
// reasons for slots that cannot be finished safely (an end that is not a known master, a third
// owner, two different moves of one slot).
Result<std::vector<Repair>> planRepairs(const std::vector<Master>& masters);

struct Progress {
  int slots_done = 0;
  int slots_total = 0;
  int64_t keys_moved = 0;
  double seconds = 0;
  double keysPerSecond() const {
    return seconds > 0 ? static_cast<double>(keys_moved) / seconds : 0;
  }
  // Seconds left at the pace so far (slots are the only thing known ahead of time).
  double eta() const;
};

struct RebalanceOptions {
  MoverOptions mover;
  std::vector<std::string> targets;  // masters that should own slots; empty: every master
  bool dry_run = false;              // plan and repair nothing, move nothing
  // Source -> target pairs moved at the same time, each on a thread with its own connections
  // (Nodes::another()). Two pairs never share a slot, and each slot keeps its step order; only
  // the nodes' work overlaps (one pair's fsync of nodes.conf or MIGRATE round trip while
  // another's keys move). bench/README.md "Slot moves" measured the default.
  int parallel = 3;
  MoveHooks hooks;  // called from every pair's thread, possibly at the same time
  // After every batch of slots, from the thread that moved it; calls never overlap.
  std::function<void(const Progress&)> on_progress;
  // How long to wait for the masters to agree and be ok before refusing (0: do not wait), and
  // how to wait (tests pass a fake).
  int64_t wait_ready_ms = 0;
  std::function<void(int64_t ms)> sleep;
};

struct RebalanceReport {
  int repaired = 0;
  Plan plan;
  Progress progress;
};

// `candidates`: the masters of some node's view (mastersIn); those that turned out to be
// replicas by now take no part.
Result<RebalanceReport> rebalance(Nodes& nodes, const std::vector<Peer>& candidates,
                                  const RebalanceOptions& options, Activity& activity);

}  // namespace agent::migrate
