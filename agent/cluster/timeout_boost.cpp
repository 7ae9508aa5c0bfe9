// SPDX-License-Identifier: Apache-2.0
#include "cluster/timeout_boost.h"

#include <fmt/format.h>

#include "cluster/commands.h"
#include "common/log.h"
#include "statefile/statefile.h"

namespace agent::cluster {

namespace {

const log::Logger kLog("create");

constexpr std::string_view kHeader =
    "redis-cluster-agent: cluster-node-timeout is shortened on the masters while the cluster\n"
    "is created; the agent of ordinal 0 restores the configured value and removes this file.";

}  // namespace

Result<BoostRecord> BoostRecord::parse(std::string_view text) {
  BoostRecord r;
  for (const auto& e : statefile::parse(text)) {
    auto value = e.values.size() == 1 ? e.integer() : std::nullopt;
    if (!value || *value <= 0) return e.invalid("bad line");
    if (e.key == "configured") {
      r.configured_ms = *value;
    } else if (e.key == "shortened") {
      r.shortened_ms = *value;
    } else if (e.key == "since") {
      r.since_unix_ms = *value;
    } else {
      return e.invalid(fmt::format("unknown key \"{}\"", e.key));
    }
  }
  if (r.configured_ms == 0 || r.shortened_ms == 0 || r.since_unix_ms == 0) {
    return fail(Errc::Invalid, "configured, shortened and since are all required");
  }
  return r;
}

std::string BoostRecord::render() const {
  return statefile::render(kHeader, {{"configured", {std::to_string(configured_ms)}},
                                     {"shortened", {std::to_string(shortened_ms)}},
                                     {"since", {std::to_string(since_unix_ms)}}});
}

bool dueForRestore(const PeerProbe& pod, bool creating, int64_t record_age_ms) {
  if (!creating || record_age_ms >= TimeoutBoost::kDeadlineMs) return true;
  return pod.snapshot.has_value() && pod.snapshot->clusterOk();
}

TimeoutBoost::TimeoutBoost(std::string record_path, Pods& pods, Activity& activity, Clock& clock,
                           int64_t shortened_ms)
    : path_(std::move(record_path)),
      pods_(pods),
      activity_(activity),
      clock_(clock),
      shortened_ms_(shortened_ms) {
  auto text = statefile::read(path_);
  if (!text || !*text) return;
  auto record = BoostRecord::parse(**text);
  if (!record) {
    // Kept for a person to look at; without it nothing can be restored safely.
    kLog.error("Ignoring an unreadable node-timeout record",
               {{"file", path_}, {"err", record.error().message}});
    return;
  }
  record_ = *record;
  kLog.info("Found a node-timeout record from an earlier run; restoring from it",
            {{"configured_ms", std::to_string(record_->configured_ms)}});
}

bool TimeoutBoost::setNodeTimeout(int ordinal, int64_t ms, Action action) {
  auto reply = cluster::setNodeTimeout(pods_, ordinal, ms);
  activity_.actions.add(action);
  if (!reply) {
    activity_.errors.add(ErrorKind::CommandFailed);
    kLog.warn("CONFIG SET cluster-node-timeout failed",
              {{"pod", pods_.last()[static_cast<size_t>(ordinal)].pod()},
               {"err", reply.error().message}});
    return false;
  }
  return true;
}

// The value every listed node runs with, when they agree and it is worth shortening.
std::optional<int64_t> TimeoutBoost::agreedValue(const std::vector<PeerProbe>& pods,
                                                 const std::vector<int>& ordinals) {
  std::optional<int64_t> agreed;
  for (int o : ordinals) {
    auto value = readNodeTimeout(pods_, o);
    std::string why;
    if (!value) {
      why = "CONFIG GET cluster-node-timeout does not answer";
    } else if (agreed && *agreed != *value) {
      why = "the masters run different values";
    } else if (*value <= shortened_ms_) {
      why = "it is already short";
    }
    if (!why.empty()) {
      kLog.info("Not shortening cluster-node-timeout during creation",
                {{"pod", pods[static_cast<size_t>(o)].pod()}, {"reason", why}});
      return std::nullopt;
    }
    agreed = value;
  }
  return agreed;
}

void TimeoutBoost::shorten(const std::vector<PeerProbe>& pods, const std::vector<int>& ordinals) {
  if (tried_) return;
  tried_ = true;
  if (!record_) {
    auto configured = agreedValue(pods, ordinals);
    if (!configured) return;
    BoostRecord record{*configured, shortened_ms_, clock_.wallMs()};
    if (auto st = statefile::write(path_, record.render()); !st) {
      kLog.warn("Not shortening cluster-node-timeout: cannot record the configured value",
                {{"err", st.error().message}});
      return;
    }
    record_ = record;
  }
  kLog.info("Shortening cluster-node-timeout on the masters during creation",
            {{"from_ms", std::to_string(record_->configured_ms)},
             {"to_ms", std::to_string(record_->shortened_ms)},
             {"reason",
              "a new master reports cluster_state fail for min(node-timeout, 5 s) after its "
              "first slots"}});
  for (int o : ordinals) setNodeTimeout(o, record_->shortened_ms, Action::NodeTimeoutShorten);
}

void TimeoutBoost::restore(const std::vector<PeerProbe>& pods, bool creating) {
  if (!record_) return;
  int64_t age = clock_.wallMs() - record_->since_unix_ms;
  bool all_back = true;
  for (const auto& p : pods) {
    if (restored_.count(p.ordinal)) continue;
    if (!p.answering() || !dueForRestore(p, creating, age)) {
      all_back = false;
      continue;
    }
    auto value = readNodeTimeout(pods_, p.ordinal);
    if (value == record_->shortened_ms) {
      if (!setNodeTimeout(p.ordinal, record_->configured_ms, Action::NodeTimeoutRestore)) {
        all_back = false;
        continue;
      }
      kLog.info("Restored cluster-node-timeout",
                {{"pod", p.pod()}, {"to_ms", std::to_string(record_->configured_ms)}});
    } else if (!value) {
      all_back = false;
      continue;
    }
    restored_.insert(p.ordinal);
  }
  if (!all_back) return;
  if (auto st = statefile::remove(path_); !st) {
    kLog.warn("Cannot remove the node-timeout record", {{"err", st.error().message}});
    return;
  }
  kLog.info("Every node runs its configured cluster-node-timeout again", {});
  record_.reset();
}

}  // namespace agent::cluster
