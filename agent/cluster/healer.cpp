// SPDX-License-Identifier: Apache-2.0
#include "cluster/healer.h"

#include <fmt/format.h>

#include <set>

#include "cluster/commands.h"
#include "common/log.h"

namespace agent::cluster {

namespace {

const log::Logger kLog("heal");

using Kind = HealAction::Kind;

}  // namespace

Healer::Healer(HealerOptions options, Pods& pods, Activity& activity, Clock& clock)
    : options_(options), pods_(pods), activity_(activity), clock_(clock) {}

bool Healer::due(const HealAction& a, int64_t now) {
  std::string key = a.key();
  auto [seen, inserted] = first_seen_.emplace(key, now);
  int64_t settle = a.kind == Kind::Replicate                                ? kReplicateSettleMs
                   : (phase_ == HealPhase::Joining && a.kind == Kind::Meet) ? kJoinSettleMs
                                                                            : 0;
  if (now - seen->second < settle) return false;
  int64_t interval = kMeetIntervalMs;
  if (a.kind == Kind::Forget) interval = kForgetIntervalMs;
  if (a.kind == Kind::Replicate) interval = kReplicateIntervalMs;
  // A failed election locks the voters for 2 x node-timeout; asking again sooner is useless
  // (docs/redis-facts.md, "Failover votes").
  if (a.kind == Kind::FailoverForce) interval = 2 * options_.node_timeout_ms + 1000;
  auto it = last_sent_.find(key);
  return it == last_sent_.end() || now - it->second >= interval;
}

void Healer::execute(const HealAction& a, const Snapshot& local) {
  static const std::map<Kind, std::pair<Action, const char*>> kNames = {
      {Kind::Meet, {Action::Meet, "Sending CLUSTER MEET"}},
      {Kind::Replicate, {Action::Replicate, "Attaching this node as a replica"}},
      {Kind::Forget, {Action::Forget, "Forgetting a node that is gone"}},
      {Kind::FailoverForce, {Action::Failover, "Taking over the slots of a gone master"}}};
  const auto& [counter, message] = kNames.at(a.kind);
  std::string on = a.target == kLocal ? "local" : pods_.last()[static_cast<size_t>(a.target)].pod();
  kLog.info(message, {{"on", on},
                      {"subject", a.subject},
                      {"command", a.args[0] + " " + a.args[1]},
                      {"reason", a.reason}});
  auto reply = pods_.command(a.target, a.args);
  activity_.actions.add(counter);
  if (!reply) {
    activity_.errors.add(ErrorKind::CommandFailed);
    kLog.warn(
        "Healing command failed",
        {{"on", on}, {"command", a.args[0] + " " + a.args[1]}, {"err", reply.error().message}});
    return;
  }
  if (a.kind == Kind::Replicate) announceRole(local);
}

void Healer::announceRole(const Snapshot& local) {
  // Only to nodes this node already knows: the pods' names are hints, not proof.
  for (const auto& meet : roleAnnouncement(pods_.last(), options_.my_ordinal, options_.default_port,
                                           local.nodes ? &*local.nodes : nullptr)) {
    auto reply = pods_.command(kLocal, meet);
    activity_.actions.add(Action::Meet);
    if (!reply) activity_.errors.add(ErrorKind::CommandFailed);
  }
}

void Healer::reportWaiting(const HealPlan& plan) {
  std::vector<std::string> all = plan.waiting;
  all.insert(all.end(), plan.unexpected.begin(), plan.unexpected.end());
  std::string text = fmt::format("{}", fmt::join(all, "; "));
  if (text == last_waiting_) return;
  last_waiting_ = text;
  if (!text.empty()) kLog.info("Healing is waiting or reports", {{"reason", text}});
}

void Healer::reportRefusals(const HealPlan& plan) {
  refused_.clear();
  for (const auto& r : plan.refused) {
    refused_.push_back(r.reason);
    if (!reported_refusals_.insert(r.key).second) continue;
    activity_.errors.add(ErrorKind::ForeignNode);
    kLog.warn("Refusing to introduce a node that is not provably of this cluster",
              {{"pod", r.pod}, {"reason", r.reason}});
  }
  for (const auto& why : plan.older_replica) {
    if (!reported_refusals_.insert("older|" + why).second) continue;
    activity_.errors.add(ErrorKind::OlderReplicaRefused);
    kLog.warn("Refusing to make this node a replica of a newer master", {{"reason", why}});
  }
}

bool Healer::step(const Snapshot& snapshot, const nodes_conf::OrdinalMap& map, bool full_round) {
  HealInput in{options_.my_ordinal, options_.nodes, options_.default_port,
               &snapshot,           &pods_.last(),  &map,
               options_.set,        full_round,     options_.replicas};
  HealPlan plan = planHealing(in);
  phase_ = plan.phase;
  unexpected_ = plan.unexpected;
  reportWaiting(plan);
  reportRefusals(plan);
  int64_t now = clock_.monotonicMs();
  for (const auto& a : plan.actions) {
    last_planned_[a.key()] = now;
    if (!due(a, now)) continue;
    last_sent_[a.key()] = now;
    execute(a, snapshot);
  }
  // Forget the settle clock of actions no longer planned, so a later need starts afresh.
  std::erase_if(last_planned_, [&](const auto& kv) { return now - kv.second > kPlannedMemoryMs; });
  std::erase_if(first_seen_, [&](const auto& kv) { return !last_planned_.count(kv.first); });
  return !plan.actions.empty() || !plan.waiting.empty();
}

}  // namespace agent::cluster
