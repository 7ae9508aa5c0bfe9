// SPDX-License-Identifier: Apache-2.0
// A shortened cluster-node-timeout on the planned masters while the cluster is created.
//
// Why: a master that was ever "in the minority" (and an empty master always is: it knows no
// master with slots) keeps reporting cluster_state:fail for min(node-timeout, 5 s) after it
// stops being so, i.e. after it gets its slots (docs/redis-facts.md, "The rejoin delay of a
// master"). Nothing but node-timeout sets that delay, so the creator shortens it on the
// masters for the few seconds of creation and puts the configured value back on each master as
// soon as it reports ok. Empty nodes hold nothing a too-eager failure detector could harm.
//
// Crash safety: the configured value is written to a record file (atomically, the state file
// statefile::kTimeoutBoost) before any node is touched, and restoring goes by that file, so an
// agent killed at any point puts every node back after its restart. The record is removed only
// once no node runs the shortened value.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/pods.h"
#include "common/clock.h"
#include "common/counters.h"
#include "common/result.h"

namespace agent::cluster {

// The record file's contents: lines "configured <ms>", "shortened <ms>", "since <unix ms>".
struct BoostRecord {
  int64_t configured_ms = 0;  // what the nodes ran with before, restored afterwards
  int64_t shortened_ms = 0;   // what the creator set
  int64_t since_unix_ms = 0;  // when, for the restore deadline (survives restarts)

  static Result<BoostRecord> parse(std::string_view text);
  std::string render() const;
};

// Whether a node running the shortened value gets its configured value back now: once it
// reports cluster_state ok, once creation is over (formed, or given up on), or once the record
// is older than the deadline (a creation stuck on a blocked node must not leave it short).
bool dueForRestore(const PeerProbe& pod, bool creating, int64_t record_age_ms);

class TimeoutBoost {
 public:
  // Loads an existing record from `record_path` (left by an earlier, interrupted run).
  TimeoutBoost(std::string record_path, Pods& pods, Activity& activity,
               Clock& clock = systemClock(), int64_t shortened_ms = kDefaultShortenedMs);

  // Shortens node-timeout on `ordinals`, once per process; skipped (creation goes on, only
  // slower) when the nodes disagree on their value, already run a short one, CONFIG is not
  // available, or the record cannot be written.
  void shorten(const std::vector<PeerProbe>& pods, const std::vector<int>& ordinals);
  // Puts the configured value back on every node due for it; removes the record when no node
  // runs the shortened value any more. `pods` come from the last full probe.
  void restore(const std::vector<PeerProbe>& pods, bool creating);
  bool pending() const { return record_.has_value(); }

  static constexpr int64_t kDefaultShortenedMs = 1000;
  static constexpr int64_t kDeadlineMs = 10000;

 private:
  bool setNodeTimeout(int ordinal, int64_t ms, Action action);
  std::optional<int64_t> agreedValue(const std::vector<PeerProbe>& pods,
                                     const std::vector<int>& ordinals);

  std::string path_;
  Pods& pods_;
  Activity& activity_;
  Clock& clock_;
  int64_t shortened_ms_;
  std::optional<BoostRecord> record_;
  bool tried_ = false;
  std::set<int> restored_;  // ordinals put back by this process
};

}  // namespace agent::cluster
