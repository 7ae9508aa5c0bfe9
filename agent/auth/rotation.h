// SPDX-License-Identifier: Apache-2.0
// Password rotation across the cluster, the pure part: which phase a node is in, what its agent
// tells the others on /peerinfo, and what the local agent may do next. Each agent changes only
// its own node, in three steps, each gated on what every other pod reports:
//
//   pending   -> accepting  add the new password (old ones stay): no gate, an extra password
//                           locks nobody out;
//   accepting -> switched   masterauth := new, once every pod reports accepting or later for
//                           the same new password and its Redis accepts it (a replica may
//                           reconnect to any master of its shard, after a failover to any node);
//   switched  -> done       accept only the new password, once every pod reports switched or
//                           later, its Redis accepts the new password and sends it as masterauth,
//                           and that has held for the grace period (clients move meanwhile).
//
// A pod that does not answer, or reports another password, holds the next step everywhere: the
// old password then keeps working. Phases are read from Redis, not remembered, so an agent or
// Redis that restarts finds its place again (with the old passwords it must accept from
// auth/record.h). A new password in the middle starts the same steps for it: the node then
// accepts every password it accepted so far until the end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/node_auth.h"

namespace agent::auth {

enum class Phase {
  Unknown,    // not known (no password configured, the node not readable, no agent answer)
  Pending,    // the node does not accept the target password yet
  Accepting,  // it accepts it, beside older ones; masterauth is still another
  Switched,   // masterauth is the target; older passwords are still accepted
  Done,       // it accepts only the target, masterauth is the target: nothing to do
};
inline constexpr Phase kPhases[] = {Phase::Unknown, Phase::Pending, Phase::Accepting,
                                    Phase::Switched, Phase::Done};
const char* phaseName(Phase phase);
std::optional<Phase> phaseFromName(std::string_view name);

// The phase of a node for the target password whose SHA-256 is `target_hash`. Unknown when the
// node needs no password (turning authentication on or off is not a rotation).
Phase phaseOf(const NodeAuth& node, std::string_view target_hash);

// What an agent publishes on /peerinfo: its node's phase and the fingerprint of the password it
// moves to (auth/hash.h), never the password or its plain hash.
struct Report {
  Phase phase = Phase::Unknown;
  std::string target;  // fingerprint; empty when the agent has no password
  bool operator==(const Report&) const = default;
};
// "authPhase:<phase>\nauthTarget:<fingerprint>\n".
std::string renderReport(const Report& report);
// The report in a /peerinfo body; nullopt when it has none (an agent without rotation).
std::optional<Report> parseReport(std::string_view body);

// One other pod, as the local agent found it this pass.
struct PodAuth {
  int ordinal = 0;
  std::string pod;
  std::optional<Report> report;  // from its agent; nullopt when it did not answer
  // From its Redis, read by the local agent: nullopt when not read this pass.
  std::optional<bool> accepts_target;
  std::optional<bool> masterauth_target;
};

enum class Step { None, AddTarget, SwitchMasterauth, DropOld };
const char* stepName(Step step);

struct Decision {
  Step step = Step::None;
  // What the next step waits for, one line per pod ("redis-3: reports pending").
  std::vector<std::string> waiting;
  int64_t grace_left_ms = 0;  // switched, every pod ready: time left before the old goes
};

class Planner {
 public:
  explicit Planner(int64_t grace_ms) : grace_ms_(grace_ms) {}

  // `local`: this node's phase; `target`: the fingerprint of the password it moves to;
  // `others`: every other pod of the StatefulSet. The grace period runs from the first call
  // that finds every pod ready to drop, and starts again whenever one is not.
  Decision decide(Phase local, const std::string& target, const std::vector<PodAuth>& others,
                  int64_t now_ms);

 private:
  int64_t grace_ms_;
  std::optional<int64_t> ready_since_ms_;
  std::string ready_target_;
};

}  // namespace agent::auth
