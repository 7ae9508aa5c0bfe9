// SPDX-License-Identifier: Apache-2.0
#include "auth/rotation.h"

#include <fmt/format.h>

#include "auth/hash.h"
#include "common/text.h"

namespace agent::auth {

namespace {

// Why `pod` holds a step that needs every pod at `needed` or later; nullopt when it does not.
// `masterauth`: the step also needs the pod's Redis to send the target as masterauth.
std::optional<std::string> holdsStep(const PodAuth& pod, const std::string& target, Phase needed,
                                     bool masterauth) {
  if (!pod.report) return pod.pod + ": its agent does not answer";
  if (pod.report->phase == Phase::Unknown) return pod.pod + ": its agent reports no password";
  if (pod.report->target != target) return pod.pod + ": has another password";
  if (pod.report->phase < needed) {
    return fmt::format("{}: reports {}", pod.pod, phaseName(pod.report->phase));
  }
  if (pod.accepts_target != true) {
    return pod.pod + (pod.accepts_target ? ": its Redis does not accept the new password"
                                         : ": its Redis was not reachable");
  }
  if (masterauth && pod.masterauth_target != true) {
    return pod.pod + (pod.masterauth_target ? ": its Redis' masterauth is not the new password"
                                            : ": its Redis was not reachable");
  }
  return std::nullopt;
}

std::vector<std::string> holding(const std::vector<PodAuth>& others, const std::string& target,
                                 Phase needed, bool masterauth) {
  std::vector<std::string> out;
  for (const auto& p : others) {
    if (auto why = holdsStep(p, target, needed, masterauth)) out.push_back(std::move(*why));
  }
  return out;
}

}  // namespace

const char* phaseName(Phase phase) {
  switch (phase) {
    case Phase::Unknown: return "unknown";
    case Phase::Pending: return "pending";
    case Phase::Accepting: return "accepting";
    case Phase::Switched: return "switched";
    case Phase::Done: return "done";
  }
  return "unknown";
}

std::optional<Phase> phaseFromName(std::string_view name) {
  for (Phase p : kPhases) {
    if (name == phaseName(p)) return p;
  }
  return std::nullopt;
}

const char* stepName(Step step) {
  switch (step) {
    case Step::None: return "none";
    case Step::AddTarget: return "add the new password";
    case Step::SwitchMasterauth: return "switch masterauth";
    case Step::DropOld: return "drop the old passwords";
  }
  return "none";
}

Phase phaseOf(const NodeAuth& node, std::string_view target_hash) {
  if (node.nopass || node.accepts.empty() || target_hash.empty()) return Phase::Unknown;
  if (!node.acceptsHash(target_hash)) return Phase::Pending;
  if (!node.masterauth || sha256Hex(*node.masterauth) != target_hash) return Phase::Accepting;
  if (node.accepts.size() > 1) return Phase::Switched;
  return Phase::Done;
}

std::string renderReport(const Report& report) {
  return fmt::format("authPhase:{}\nauthTarget:{}\n", phaseName(report.phase), report.target);
}

std::optional<Report> parseReport(std::string_view body) {
  std::optional<Report> out;
  std::string target;
  for (auto& [key, value] : text::parseInfoFields(body)) {
    if (key == "authPhase") {
      out = Report{phaseFromName(value).value_or(Phase::Unknown), {}};
    } else if (key == "authTarget") {
      target = value;
    }
  }
  if (out) out->target = target;
  return out;
}

Decision Planner::decide(Phase local, const std::string& target, const std::vector<PodAuth>& others,
                         int64_t now_ms) {
  Decision d;
  bool drop_ready = false;
  if (target.empty()) {
    d.waiting.push_back("this pod has no usable password");
  } else if (local == Phase::Pending) {
    d.step = Step::AddTarget;
  } else if (local == Phase::Accepting) {
    d.waiting = holding(others, target, Phase::Accepting, false);
    if (d.waiting.empty()) d.step = Step::SwitchMasterauth;
  } else if (local == Phase::Switched) {
    d.waiting = holding(others, target, Phase::Switched, true);
    drop_ready = d.waiting.empty();
  }
  if (!drop_ready || ready_target_ != target) {
    ready_since_ms_.reset();
    ready_target_ = target;
  }
  if (drop_ready) {
    if (!ready_since_ms_) ready_since_ms_ = now_ms;
    d.grace_left_ms = std::max<int64_t>(0, *ready_since_ms_ + grace_ms_ - now_ms);
    if (d.grace_left_ms == 0) d.step = Step::DropOld;
  }
  return d;
}

}  // namespace agent::auth
