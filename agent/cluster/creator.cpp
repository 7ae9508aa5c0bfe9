// SPDX-License-Identifier: Apache-2.0
// The steps follow redis-cli --cluster create (docs/redis-facts.md, "How redis-cli creates a
// cluster") with two changes that make formation fast: every node MEETs every other node (no
// waiting for gossip), and a replica that was just attached MEETs every node again, which tells
// each of them its new role at once instead of after the next random ping.
#include "cluster/creator.h"

#include <fmt/format.h>
#include <algorithm>
#include <csignal>

#include "cluster/commands.h"
#include "cluster/health.h"
#include "cluster/identity.h"
#include "cluster/versions.h"
#include "common/log.h"
#include "common/text.h"

namespace agent::cluster {

namespace {

const log::Logger kLog("create");

constexpr int64_t kWorkingPollMs = 20;
constexpr int64_t kMaxBackoffMs = 2000;
// How long to wait for the other agents' Kubernetes node names once every Redis answers.
constexpr int64_t kK8sNodeGraceMs = 5000;
// Waiting reasons are logged when they change, and again this often while unchanged.
constexpr int64_t kReportRepeatMs = 30000;
// Every pod's own snapshot gives its ports; this is only the fallback of meetCommand.
constexpr int kDefaultPort = 6379;

std::string rangeText(const nodes_conf::SlotRange& r) {
  return fmt::format("{}-{}", r.first, r.last);
}

const PeerProbe* byId(const std::vector<PeerProbe>& pods, const std::string& id) {
  for (const auto& p : pods) {
    if (p.node_id == id) return &p;
  }
  return nullptr;
}

// True while `viewer` has a handshake under way with `peer`'s address (a MEET in flight).
bool meeting(const PeerProbe& viewer, const PeerProbe& peer) {
  for (const auto& n : viewer.snapshot->nodes->nodes()) {
    if (n.inHandshake() && n.address.host == peer.ip) return true;
  }
  return false;
}

bool knows(const PeerProbe& viewer, const std::string& id) {
  const auto* node = viewer.snapshot->nodes->find(id);
  return node != nullptr && !node->inHandshake();
}

void checkRole(const PeerProbe& p, const CreatePlan& plan, const std::vector<PeerProbe>& pods,
               Assessment& a) {
  const auto& me = *p.snapshot->myself();
  bool planned_master = plan.isMaster(p.ordinal);
  if (planned_master && me.isReplica()) {
    a.reasons.push_back(fmt::format("{} is a replica, but the plan makes it a master", p.pod()));
  } else if (!planned_master && me.isReplica()) {
    const PeerProbe* master = byId(pods, me.master_id);
    if (master == nullptr || !plan.isMaster(master->ordinal)) {
      a.reasons.push_back(fmt::format("{} replicates {}, which is not a planned master", p.pod(),
                                      text::shortId(me.master_id)));
    } else {
      a.attached[p.ordinal] = master->ordinal;
    }
  }
}

void checkSlotsAndKeys(const PeerProbe& p, const CreatePlan& plan, Assessment& a) {
  const auto& me = *p.snapshot->myself();
  auto index = plan.masterIndex(p.ordinal);
  bool owns_planned = index && me.slots.size() == 1 && me.slots[0] == plan.slots[*index];
  if (!me.slots.empty() && !owns_planned) {
    std::vector<std::string> owned;
    for (const auto& r : me.slots) owned.push_back(rangeText(r));
    a.reasons.push_back(
        fmt::format("{} owns slots {}{}", p.pod(), fmt::join(owned, ","),
                    index ? fmt::format(", the plan gives it {}", rangeText(plan.slots[*index]))
                          : ", the plan gives it none"));
  }
  if (!me.open_slots.empty()) {
    a.reasons.push_back(fmt::format("{} has slots migrating or importing", p.pod()));
  }
  // Keys are fine only where the plan put them: in a planned master's own slots (a client may
  // have written there after an earlier attempt assigned them). A replica-to-be with keys would
  // lose them on its first sync, so it is never attached.
  if (p.snapshot->keys > 0 && !owns_planned) {
    a.reasons.push_back(
        fmt::format("{} holds {} key(s); creation needs empty nodes", p.pod(), p.snapshot->keys));
  }
}

// Slot range index -> ordinal of the pods that already own exactly one of the ranges a creation
// assigns: an earlier attempt chose them as masters, and the plan keeps them.
std::map<int, int> ownedRanges(const std::vector<PeerProbe>& pods, int masters) {
  auto ranges = slotRanges(masters);
  std::map<int, int> out;
  for (const auto& p : pods) {
    const auto& slots = p.snapshot->myself()->slots;
    if (slots.size() != 1) continue;
    auto it = std::find(ranges.begin(), ranges.end(), slots[0]);
    if (it != ranges.end()) out.emplace(static_cast<int>(it - ranges.begin()), p.ordinal);
  }
  return out;
}

}  // namespace

const char* createPhaseName(CreatePhase phase) {
  switch (phase) {
    case CreatePhase::WaitingForPeers: return "waiting_for_peers";
    case CreatePhase::Blocked: return "blocked";
    case CreatePhase::Creating: return "creating";
    case CreatePhase::Done: return "done";
  }
  return "unknown";
}

int64_t creatorRoundBudgetMs(int nodes, int workers) {
  int64_t per_worker = (std::max(nodes - 1, 0) + std::max(workers, 1) - 1) / std::max(workers, 1);
  return std::max(Creator::kProbeBudgetMs, per_worker * kCreatorProbeMs);
}

Assessment assessForCreation(const std::vector<PeerProbe>& pods, const CreatePlan& plan) {
  Assessment a;
  for (const auto& p : pods) {
    const Snapshot& s = *p.snapshot;
    if (s.slotsAssigned() == nodes_conf::kSlotCount) a.cluster_exists = true;
    for (const auto& n : s.nodes->nodes()) {
      // Handshake entries carry a random temporary ID until the peer answers.
      if (!n.inHandshake() && byId(pods, n.id) == nullptr) {
        a.reasons.push_back(fmt::format("{} knows node {} at {}, which is none of the pods",
                                        p.pod(), text::shortId(n.id), n.address.endpoint()));
      }
    }
    checkSlotsAndKeys(p, plan, a);
    checkRole(p, plan, pods, a);
  }
  a.consistent = a.reasons.empty();
  return a;
}

Creator::Creator(CreatorOptions options, Pods& pods, TimeoutBoost& boost, PlacementLookup lookup,
                 Activity& activity, Clock& clock)
    : options_(std::move(options)),
      pods_(pods),
      boost_(boost),
      lookup_(std::move(lookup)),
      activity_(activity),
      clock_(clock) {}

void Creator::report(CreatePhase phase, const std::string& what,
                     const std::vector<std::string>& why) {
  std::string key = what;
  for (const auto& w : why) key += "|" + w;
  int64_t now = clock_.monotonicMs();
  phase_ = phase;
  if (key == last_report_ && now - last_report_ms_ < kReportRepeatMs) return;
  last_report_ = key;
  last_report_ms_ = now;
  kLog.info(what, {{"phase", createPhaseName(phase)},
                   {"reason", fmt::format("{}", fmt::join(why, "; "))}});
}

bool Creator::allAnswering(const std::vector<PeerProbe>& pods) {
  std::vector<std::string> missing;
  for (const auto& p : pods) {
    if (p.stale) {
      missing.push_back(fmt::format("{}: still being probed", p.pod()));
    } else if (!p.snapshot || !p.snapshot->nodes) {
      missing.push_back(fmt::format("{}: {}", p.pod(), p.error ? p.error->message : "loading"));
    }
  }
  if (missing.empty()) return true;
  peers_answering_since_ = 0;
  report(CreatePhase::WaitingForPeers, "Waiting for every pod to answer before creating", missing);
  return false;
}

// Every pod's own agent must say it is that pod of this StatefulSet, running the node found
// there: a stale or foreign DNS record must never pull a node into the new cluster.
bool Creator::allVouched(const std::vector<PeerProbe>& pods) {
  std::vector<std::string> waiting;
  std::vector<std::string> foreign;
  for (const auto& p : pods) {
    if (p.ordinal == options_.my_ordinal) continue;
    Verdict v = vouchFor(p, options_.set);
    if (misdirected(v)) {
      foreign.push_back(v.why);
    } else if (v.vouch != Vouch::Confirmed) {
      waiting.push_back(v.why);
    }
  }
  if (!foreign.empty()) {
    refuse(ErrorKind::ForeignNode, "Not creating the cluster: a pod's name leads elsewhere",
           foreign);
    return false;
  }
  if (!waiting.empty()) {
    report(CreatePhase::WaitingForPeers, "Waiting for every pod's agent to vouch for its pod",
           waiting);
    return false;
  }
  return true;
}

// Every pod must run a server the agent supports: creation sends commands older ones lack
// (CLUSTER ADDSLOTSRANGE is 7.0+).
bool Creator::allSupported(const std::vector<PeerProbe>& pods) {
  auto old = unsupportedPods(pods);
  if (old.empty()) return true;
  refuse(ErrorKind::UnsupportedServer,
         "Not creating the cluster: a pod runs a server older than the agent supports", old);
  return false;
}

// No planned replica may follow a master newer than itself (cluster/versions.h).
bool Creator::versionsFit(const std::vector<PeerProbe>& pods, const CreatePlan& plan) {
  std::vector<std::string> why;
  for (const auto& [replica, master] : plan.replica_of) {
    const auto& r = pods[static_cast<size_t>(replica)];
    const auto& m = pods[static_cast<size_t>(master)];
    if (auto w = followRefusal({r.pod(), r.server}, {m.pod(), m.server})) why.push_back(*w);
  }
  if (why.empty()) return true;
  refuse(ErrorKind::OlderReplicaRefused,
         "Not creating the cluster: a planned replica would follow a newer master", why);
  return false;
}

// Blocked, logged and counted once per distinct reason.
void Creator::refuse(ErrorKind kind, const std::string& what, const std::vector<std::string>& why) {
  std::string before = last_report_;
  report(CreatePhase::Blocked, what, why);
  if (last_report_ != before) activity_.errors.add(kind);
}

std::vector<Placement> Creator::placements(const std::vector<PeerProbe>& pods) {
  std::vector<Placement> places(pods.size());
  for (const auto& p : pods) {
    auto it = places_.find(p.ordinal);
    if (it == places_.end()) {
      if (auto place = lookup_(p)) it = places_.emplace(p.ordinal, *place).first;
    }
    if (it != places_.end()) places[static_cast<size_t>(p.ordinal)] = it->second;
  }
  return places;
}

bool Creator::send(int ordinal, Action what, const std::vector<std::string>& args) {
  auto reply = pods_.command(ordinal, args);
  activity_.actions.add(what);
  if (!reply) {
    activity_.errors.add(ErrorKind::CommandFailed);
    kLog.warn("Creation command failed", {{"pod", pods_.last()[static_cast<size_t>(ordinal)].pod()},
                                          {"command", std::string(kindName(what))},
                                          {"err", reply.error().message}});
    return false;
  }
  return true;
}

void Creator::maybeCrash(const std::string& point) {
  if (options_.crash_after != point) return;
  kLog.warn("Fault injection: killing the agent", {{"after", point}});
  std::raise(SIGKILL);
}

void Creator::shortenNodeTimeout(const std::vector<PeerProbe>& pods, const CreatePlan& plan) {
  bool any_empty = std::any_of(
      plan.master_ordinals.begin(), plan.master_ordinals.end(),
      [&](int m) { return pods[static_cast<size_t>(m)].snapshot->myself()->slots.empty(); });
  if (!any_empty) return;  // an earlier attempt assigned the slots: it shortened, or skipped it
  boost_.shorten(pods, plan.master_ordinals);
  maybeCrash("shorten");
}

bool Creator::assignSlots(const std::vector<PeerProbe>& pods, const CreatePlan& plan) {
  bool acted = false;
  for (size_t i = 0; i < plan.master_ordinals.size(); ++i) {
    int m = plan.master_ordinals[i];
    const auto& p = pods[static_cast<size_t>(m)];
    if (!p.snapshot->myself()->slots.empty()) continue;
    const auto& r = plan.slots[i];
    kLog.info(
        "Assigning slots",
        {{"pod", p.pod()}, {"slots", rangeText(r)}, {"reason", "planned master owns no slots"}});
    send(m, Action::Addslots,
         {"CLUSTER", "ADDSLOTSRANGE", std::to_string(r.first), std::to_string(r.last)});
    acted = true;
  }
  if (acted) maybeCrash("slots");
  return acted;
}

bool Creator::setEpochs(const std::vector<PeerProbe>& pods) {
  bool acted = false;
  for (const auto& p : pods) {
    const auto& me = *p.snapshot->myself();
    // Accepted only by a node that knows no other node; distinct epochs spare the masters the
    // collision handling that would otherwise delay the first failover decisions.
    if (me.config_epoch != 0 || p.snapshot->nodes->nodes().size() != 1) continue;
    std::string epoch = std::to_string(p.ordinal + 1);
    kLog.info("Setting config epoch", {{"pod", p.pod()}, {"epoch", epoch}});
    send(p.ordinal, Action::SetConfigEpoch, {"CLUSTER", "SET-CONFIG-EPOCH", epoch});
    acted = true;
  }
  if (acted) maybeCrash("epochs");
  return acted;
}

bool Creator::meetAll(const std::vector<PeerProbe>& pods) {
  std::vector<std::pair<const PeerProbe*, const PeerProbe*>> todo;
  for (const auto& a : pods) {
    for (const auto& b : pods) {
      if (&a != &b && a.snapshot->nodes->find(b.node_id) == nullptr && !meeting(a, b)) {
        todo.emplace_back(&a, &b);
      }
    }
  }
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto& [from, to] = todo[i];
    kLog.info("Sending CLUSTER MEET", {{"on", from->pod()},
                                       {"peer", to->pod()},
                                       {"address", to->ip},
                                       {"reason", "node does not know the peer yet"}});
    send(from->ordinal, Action::Meet, meetCommand(*to, nullptr, kDefaultPort));
    if (i + 1 == todo.size() / 2) maybeCrash("meet-half");
  }
  return !todo.empty();
}

bool Creator::attachReplicas(const std::vector<PeerProbe>& pods, const CreatePlan& plan,
                             const Assessment& a) {
  int done = 0;
  int total = static_cast<int>(plan.replica_of.size() - a.attached.size());
  for (const auto& [replica, master] : plan.replica_of) {
    if (a.attached.count(replica)) continue;
    const auto& r = pods[static_cast<size_t>(replica)];
    const auto& m = pods[static_cast<size_t>(master)];
    if (!knows(r, m.node_id)) continue;  // the MEETs have not reached it yet
    kLog.info(
        "Attaching replica",
        {{"pod", r.pod()}, {"master", m.pod()}, {"reason", "planned replica is not attached"}});
    if (!send(replica, Action::Replicate, {"CLUSTER", "REPLICATE", m.node_id})) continue;
    for (const auto& meet : roleAnnouncement(pods, replica, kDefaultPort)) {
      send(replica, Action::Meet, meet);
    }
    if (++done == total / 2) maybeCrash("replicate-half");
  }
  return done > 0;
}

void Creator::finish(const std::string& reason) {
  if (phase_ == CreatePhase::Done) return;
  report(CreatePhase::Done, "Creation is not needed", {reason});
}

bool Creator::waitForK8sNodes(const std::vector<Placement>& places, int64_t now) {
  int known = 0;
  for (const auto& p : places) known += p.k8s_node.empty() ? 0 : 1;
  // Every agent answered (this one knows its own): the names still missing will never come.
  auto answered = static_cast<int>(places_.size() + (places_.count(0) != 0U ? 0 : 1));
  if (known >= options_.nodes || answered >= options_.nodes ||
      now - peers_answering_since_ >= kK8sNodeGraceMs) {
    return false;
  }
  report(CreatePhase::WaitingForPeers, "Waiting for the agents' Kubernetes node names",
         {fmt::format("{} of {} known", known, options_.nodes)});
  return true;
}

int64_t Creator::step() {
  if (phase_ == CreatePhase::Done) return kMaxBackoffMs;
  auto pods = pods_.probe({{},
                           Pods::Depth::Snapshot,
                           true,
                           creatorRoundBudgetMs(options_.nodes, options_.probe_workers)});
  if (!allAnswering(pods) || !allVouched(pods)) {
    backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
    return backoff_ms_;
  }
  backoff_ms_ = 100;
  int64_t now = clock_.monotonicMs();
  if (peers_answering_since_ == 0) peers_answering_since_ = now;
  auto places = placements(pods);
  if (places[0] == Placement{}) places[0] = {options_.my_k8s_node, options_.my_zone};
  if (waitForK8sNodes(places, now)) return kWorkingPollMs * 5;
  return createFrom(pods, places, now);
}

int64_t Creator::createFrom(const std::vector<PeerProbe>& pods,
                            const std::vector<Placement>& places, int64_t now) {
  auto owned = ownedRanges(pods, options_.nodes / (options_.replicas + 1));
  auto plan = planCreation(options_.nodes, options_.replicas, places, {}, owned);
  Assessment a = assessForCreation(pods, plan);
  if (!a.consistent) {
    if (a.cluster_exists) {
      report(CreatePhase::Done, "A cluster already exists; creation is not needed", a.reasons);
      return kMaxBackoffMs;
    }
    report(CreatePhase::Blocked, "Not creating the cluster: not every node is empty", a.reasons);
    return kMaxBackoffMs;
  }
  plan = planCreation(options_.nodes, options_.replicas, places, a.attached, owned);
  if (!allSupported(pods) || !versionsFit(pods, plan)) return kMaxBackoffMs;
  if (started_ms_ == 0) {
    started_ms_ = now;
    report(CreatePhase::Creating, "Every pod answers and matches the creation plan",
           {fmt::format("{} masters ({}), {} replicas each, anti-affinity score {}", plan.masters,
                        fmt::join(plan.master_ordinals, ","), options_.replicas,
                        plan.antiAffinityScore)});
  }
  phase_ = CreatePhase::Creating;
  shortenNodeTimeout(pods, plan);
  if (assignSlots(pods, plan) || setEpochs(pods) || meetAll(pods)) {
    acted_ = true;
    return kWorkingPollMs;
  }
  for (const auto& p : pods) {
    for (const auto& q : pods) {
      if (!knows(p, q.node_id)) return kWorkingPollMs;  // handshakes still in flight
    }
  }
  if (acted_) maybeCrash("meet");
  if (attachReplicas(pods, plan, a)) {
    acted_ = true;
    return kWorkingPollMs;
  }
  Health h = assess(pods, options_.replicas);
  if (!h.healthy) return kWorkingPollMs;
  if (acted_) {
    activity_.actions.add(Action::Creation);
    report(CreatePhase::Done, "Cluster is formed",
           {fmt::format("{} ms after every pod answered", now - peers_answering_since_)});
  } else {
    report(CreatePhase::Done, "Cluster is already formed as planned; nothing to do", {});
  }
  return kMaxBackoffMs;
}

}  // namespace agent::cluster
