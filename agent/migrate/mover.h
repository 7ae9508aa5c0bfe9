// SPDX-License-Identifier: Apache-2.0
// Moves one hash slot and its keys from one master to another, the way Redis Cluster expects
// (docs/redis-facts.md, "Moving a slot"):
//   1. CLUSTER SETSLOT s IMPORTING src on the target, then SETSLOT s MIGRATING dst on the source
//      (in this order: a client sent on by the source's ASK then always finds the target ready);
//   2. CLUSTER GETKEYSINSLOT + MIGRATE ... KEYS in batches until the source holds no key of s;
//   3. CLUSTER SETSLOT s NODE dst on the target first (it bumps its epoch and wins the slot),
//      then on the source, then on every other master, so the slot never has no owner.
// Every step is safe to repeat, so a move stopped anywhere is finished by calling move() again
// (migrate/rebalance.h finds such open slots). MIGRATE never REPLACEs: a key that is already on
// the target (BUSYKEY) is dropped from the source only when both copies are byte-identical, in
// one atomic script; differing copies are reported and the slot is left open for a human.
// A batch that times out or fails with IOERR is retried with half the keys, down to one key
// with a longer timeout: MIGRATE deletes the source's copy only after the target has it, so a
// failed batch loses nothing and a repeated one meets its keys as identical BUSYKEYs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/counters.h"
#include "common/result.h"
#include "migrate/nodes.h"

namespace agent::migrate {

struct MoverOptions {
  int batch_keys = 100;               // keys per GETKEYSINSLOT + MIGRATE (see bench/README.md)
  int64_t migrate_timeout_ms = 5000;  // MIGRATE's own idle timeout between the two servers
  int retries = 4;                    // one-key batches retried with a doubled timeout
  // Slots moved together by moveSlots(): each step is sent for all of them in one pipeline, so
  // a node saves its nodes.conf (with fsync) once per step instead of once per slot.
  int slots_per_batch = 256;              // bench/README.md: 256 beat 128 on a quiet machine
  std::optional<std::string> password{};  // sent with MIGRATE's AUTH2 (user "default")
  std::string user = "default";
};

// Where a move starts: from the beginning, or (the target already owns the slot: an earlier
// attempt stopped after SETSLOT NODE on the target) with the keys still left on the source.
enum class Phase { Open, Drain };

// Named points of a slot move, for tests that stop the coordinating process there (the hidden
// --test-stop-at flag of the `rebalance` and `scale` verbs) and show that the next run finishes
// the move, whichever point it stopped at. Both move() and moveSlots() pass every point.
enum class MovePoint {
  AfterImporting,      // IMPORTING set on the target only
  AfterOpen,           // IMPORTING on the target and MIGRATING on the source
  MidBatch,            // some keys MIGRATEd, more listed on the source (a slot with more keys
                       // than the batch)
  BeforeSetslotNode,   // the slot drained, no SETSLOT NODE sent yet
  AfterSetslotTarget,  // the target owns the slot; the source and the others not told yet
};
const char* movePointName(MovePoint point);
std::optional<MovePoint> parseMovePoint(std::string_view name);
std::vector<std::string> movePointNames();

// Test hooks: called at each named point with the (first) slot concerned.
struct MoveHooks {
  std::function<void(MovePoint point, int slot)> at;
};

class SlotMover {
 public:
  SlotMover(Nodes& nodes, Activity& activity, MoverOptions options);

  // Moves `slot` from `src` to `dst`: afterwards both name `dst` as its owner, and announce()
  // tells the other masters. Fails with Errc::Refused on differing BUSYKEY copies, else with the
  // error of the step that failed; the slot then stays open and move() can be called again.
  Status move(int slot, const Peer& src, const Peer& dst, Phase from = Phase::Open);

  // Moves several slots between the same pair with the same steps, each step pipelined for
  // all of them (the step order holds for every slot). A failure leaves the slots open; a slot
  // whose MIGRATE failed is drained on its own, with move()'s smaller batches and retries.
  Status moveSlots(const std::vector<int>& slots, const Peer& src, const Peer& dst);

  // Tells every master in `others` but `src` and `dst` that `dst` owns `slots` now (slots whose
  // move was closed on the target and the source), last, so that no slot is ever without an
  // owner; a caller moving many batches tells them once at the end. Refusals are logged, not
  // fatal: the target's bumped epoch reaches them by gossip anyway; this only saves the wait.
  void announce(const std::vector<int>& slots, const Peer& src, const Peer& dst,
                const std::vector<std::string>& others);

  int64_t keysMoved() const { return keys_moved_; }
  int batchKeys() const { return batch_; }
  void setHooks(MoveHooks hooks) { hooks_ = std::move(hooks); }

 private:
  Status open(int slot, const Peer& src, const Peer& dst);
  Status drain(int slot, const Peer& src, const Peer& dst);
  Status close(const std::vector<int>& slots, const Peer& src, const Peer& dst);
  Status openMany(const std::vector<int>& slots, const Peer& src, const Peer& dst);
  Status drainMany(const std::vector<int>& slots, const Peer& src, const Peer& dst);
  Result<std::vector<int>> migrateMany(const std::vector<int>& slots,
                                       const std::vector<std::vector<std::string>>& keys,
                                       const Peer& src, const Peer& dst);
  Status takeOver(const std::vector<int>& slots, const Peer& dst);
  // Whether `dst` is a Valkey (which replicates SETSLOT): asked once per node.
  bool replicatesSetslot(const Peer& dst);
  // Whether `src` (asked again) claims none of `slots`.
  bool gaveUp(const std::vector<int>& slots, const Peer& src);
  Status setslots(const std::string& on, const std::vector<int>& slots, const std::string& how,
                  const std::string& id, bool tolerate_replica);
  Result<std::vector<std::string>> keysIn(int slot, const Peer& src);
  std::vector<std::string> migrateCommand(const Peer& dst, const std::vector<std::string>& keys,
                                          int64_t timeout_ms, size_t& secret_index) const;
  Status settleBusyKeys(int slot, const Peer& src, const Peer& dst,
                        const std::vector<std::string>& keys);
  Status setslot(const std::string& on, int slot, const std::string& how, const std::string& id);
  void reached(MovePoint point, int slot) const;

  Nodes& nodes_;
  Activity& activity_;
  MoverOptions options_;
  MoveHooks hooks_;
  int batch_ = 0;
  int64_t keys_moved_ = 0;
  std::map<std::string, bool> valkey_;  // replicatesSetslot() by node ID
};

}  // namespace agent::migrate
