// SPDX-License-Identifier: Apache-2.0
// Repairs, in the order they are planned each pass:
//   1. addresses: a known peer that is noaddr, flagged fail, or known at another IP than its
//      pod has now gets a CLUSTER MEET to its pod's IP (docs/redis-facts.md, "A node's new
//      address": a MEET to a known node's new address updates it in place);
//   2. joining: an empty node MEETs the members of the existing cluster, then, once it sees all
//      slots, replicates the master with the fewest replicas (the shard that lost a member);
//   3. a master whose identity is gone for sure (its pod runs another ID now) is taken over by
//      its best replica with FAILOVER FORCE: the gone master's data was lost with it;
//   4. stale IDs: forgotten on every node (FORGET acts on one node's view only; see
//      docs/redis-facts.md, "Forgetting a node"), but only when the ID is retired (its pod runs
//      another ID), it owns no slots, nobody replicates it and nobody is connected to it.
#include "cluster/heal_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cluster/commands.h"
#include "common/text.h"

namespace agent::cluster {

namespace {

using Kind = HealAction::Kind;

HealAction meetAction(const PeerProbe& p, const nodes_conf::Node* known, int fallback_port,
                      std::string reason) {
  return {Kind::Meet, kLocal, meetCommand(p, known, fallback_port), p.pod(), std::move(reason)};
}

std::string podOf(const HealInput& in, const std::string& id) {
  for (const auto& p : *in.pods) {
    if (p.node_id == id) return p.pod();
  }
  return text::shortId(id);
}

bool isEmpty(const Snapshot& s) {
  const auto* me = s.myself();
  return me != nullptr && s.nodes->nodes().size() == 1 && me->slots.empty() && s.keys == 0 &&
         me->isMaster();
}

bool memberOfFormedCluster(const PeerProbe& p) {
  return p.live() && p.snapshot->slotsAssigned() == nodes_conf::kSlotCount &&
         p.snapshot->nodes->nodes().size() > 1;
}

void planAddressRepairs(const HealInput& in, HealPlan& plan) {
  const auto& local = *in.local->nodes;
  for (const auto& p : *in.pods) {
    if (p.ordinal == in.my_ordinal || !p.live()) continue;
    const auto* n = local.find(p.node_id);
    // Unknown IDs are never pulled in from here: only nodes this Redis already knows.
    if (n == nullptr || n->isMyself()) continue;
    std::string reason;
    if (n->isNoaddr()) {
      reason = "known as noaddr";
    } else if (n->address.host != p.ip) {
      reason = fmt::format("known at '{}', its pod is at {}", n->address.host, p.ip);
    } else if (n->isFailed() || n->isPfail()) {
      reason = n->isFailed() ? "flagged fail although its pod answers"
                             : "flagged fail? although its pod answers";
    } else {
      continue;
    }
    plan.actions.push_back(meetAction(p, n, in.default_port, reason));
  }
}

int healthyReplicas(const nodes_conf::NodesConf& view, const std::string& master_id) {
  int n = 0;
  for (const auto& r : view.nodes()) {
    if (r.master_id == master_id && !r.isFailed() && !r.isNoaddr()) ++n;
  }
  return n;
}

void planJoin(const HealInput& in, HealPlan& plan) {
  std::vector<const PeerProbe*> members;
  for (const auto& p : *in.pods) {
    if (p.ordinal != in.my_ordinal && memberOfFormedCluster(p)) members.push_back(&p);
  }
  if (members.empty()) return;  // no cluster yet: creating one is ordinal 0's job
  plan.phase = HealPhase::Joining;
  for (const auto* m : members) {
    plan.actions.push_back(meetAction(*m, nullptr, in.default_port,
                                      "this node is empty; it joins the existing cluster"));
  }
}

// Sort key for a node: its pod's ordinal when known, then its ID.
std::pair<int, std::string> orderOf(const HealInput& in, const std::string& id) {
  for (const auto& p : *in.pods) {
    if (p.node_id == id) return {p.ordinal, id};
  }
  return {in.map->ordinalOf(id).value_or(1 << 20), id};
}

// True while a master with slots is failing and has a replica that should take over first.
bool failoverPending(const HealInput& in, HealPlan& plan) {
  const auto& view = *in.local->nodes;
  for (const auto& m : view.nodes()) {
    if (m.isMaster() && !m.slots.empty() && (m.isFailed() || m.isPfail()) &&
        healthyReplicas(view, m.id) > 0) {
      plan.phase = HealPhase::Waiting;
      plan.waiting.push_back(
          fmt::format("master {} is failing and its replica should take over "
                      "first",
                      podOf(in, m.id)));
      return true;
    }
  }
  return false;
}

// Empty masters that already know the whole cluster become replicas of the masters with the
// fewest replicas (the shards that lost a member, or any shard after a scale-up). Every agent
// computes the same assignment from the same view (nodes in ordinal order, each to the master
// with the fewest replicas so far), so several pods joining at once spread out.
void planReplicate(const HealInput& in, HealPlan& plan) {
  const auto& view = *in.local->nodes;
  const auto* me = in.local->myself();
  if (!me->isMaster() || !me->slots.empty() || in.local->keys > 0 ||
      in.local->slotsAssigned() != nodes_conf::kSlotCount || failoverPending(in, plan)) {
    return;
  }
  std::vector<std::pair<std::pair<int, std::string>, const nodes_conf::Node*>> joiners;
  std::vector<std::pair<std::pair<int, std::pair<int, std::string>>, const nodes_conf::Node*>>
      masters;
  for (const auto& n : view.nodes()) {
    if (n.inHandshake() || n.isNoaddr() || n.isFailed() || n.isPfail() || !n.isMaster()) continue;
    if (n.slots.empty()) {
      joiners.push_back({orderOf(in, n.id), &n});
    } else {
      masters.push_back({{healthyReplicas(view, n.id), orderOf(in, n.id)}, &n});
    }
  }
  if (masters.empty()) return;
  std::sort(joiners.begin(), joiners.end());
  const nodes_conf::Node* mine = nullptr;
  int count = 0;
  for (const auto& [order, node] : joiners) {
    auto least = std::min_element(masters.begin(), masters.end());
    if (node == me) {
      mine = least->second;
      count = least->first.first;
      break;
    }
    ++least->first.first;
  }
  if (mine == nullptr) return;
  plan.phase = HealPhase::Joining;
  plan.actions.push_back({Kind::Replicate,
                          kLocal,
                          {"CLUSTER", "REPLICATE", mine->id},
                          podOf(in, mine->id),
                          fmt::format("empty node joins as replica of the master with the fewest "
                                      "replicas ({})",
                                      count)});
}

// A retired ID whose pod answers with another ID now: that identity is gone with its data.
bool certainlyGone(const HealInput& in, const std::string& id) {
  auto ordinal = in.map->retiredOrdinal(id);
  if (!ordinal || *ordinal < 0 || *ordinal >= static_cast<int>(in.pods->size())) return false;
  const auto& pod = (*in.pods)[static_cast<size_t>(*ordinal)];
  if (!pod.live() || pod.node_id == id) return false;
  for (const auto& p : *in.pods) {
    if (p.node_id == id) return false;
  }
  return true;
}

void planForcedFailover(const HealInput& in, HealPlan& plan) {
  const auto* me = in.local->myself();
  if (!me->isReplica() || !certainlyGone(in, me->master_id)) return;
  const auto* master = in.local->nodes->find(me->master_id);
  if (master == nullptr || master->slots.empty() || master->isConnected()) return;
  int64_t my_offset = in.local->info.integerOr("slave_repl_offset", 0);
  for (const auto& p : *in.pods) {
    if (p.ordinal == in.my_ordinal || !p.live()) continue;
    const auto* other = p.snapshot->myself();
    if (other->isReplica() && other->master_id == me->master_id &&
        p.snapshot->info.integerOr("slave_repl_offset", 0) > my_offset) {
      return;  // a sibling replica has more data; its agent takes over
    }
  }
  auto ordinal = in.map->retiredOrdinal(me->master_id);
  plan.actions.push_back(
      {Kind::FailoverForce, kLocal, failoverForceCommand(), text::shortId(me->master_id),
       fmt::format("master {} is gone for good (pod {} runs node {} now); this "
                   "replica holds the shard's data",
                   text::shortId(me->master_id), *ordinal,
                   text::shortId((*in.pods)[static_cast<size_t>(*ordinal)].node_id))});
}

// Why `id` may not be forgotten yet, judged from every pod's view; empty when it may.
std::string forgetBlocker(const HealInput& in, const std::string& id) {
  for (const auto& p : *in.pods) {
    if (!p.live()) continue;
    const auto& view = *p.snapshot->nodes;
    const auto* n = view.find(id);
    if (n == nullptr) continue;
    if (!n->slots.empty()) return fmt::format("{} sees it still owning slots", p.pod());
    if (n->isConnected() && !n->isFailed() && !n->isNoaddr()) {
      return fmt::format("{} is still connected to it", p.pod());
    }
    for (const auto& r : view.nodes()) {
      if (r.master_id == id) return fmt::format("{} sees a replica of it", p.pod());
    }
  }
  return {};
}

void planForgets(const HealInput& in, HealPlan& plan) {
  std::set<std::string> candidates;
  for (const auto& p : *in.pods) {
    if (!p.live()) continue;
    for (const auto& n : p.snapshot->nodes->nodes()) {
      if (!n.inHandshake() && !n.isMyself()) candidates.insert(n.id);
    }
  }
  for (const auto& id : candidates) {
    if (!certainlyGone(in, id)) continue;
    if (std::string blocker = forgetBlocker(in, id); !blocker.empty()) {
      plan.waiting.push_back(
          fmt::format("stale node {} cannot be forgotten yet: {}", text::shortId(id), blocker));
      continue;
    }
    for (const auto& p : *in.pods) {
      if (!p.live() || p.snapshot->nodes->find(id) == nullptr) continue;
      plan.actions.push_back(
          {Kind::Forget,
           p.ordinal == in.my_ordinal ? kLocal : p.ordinal,
           {"CLUSTER", "FORGET", id},
           text::shortId(id),
           fmt::format("its pod {} runs node {} now", *in.map->retiredOrdinal(id),
                       text::shortId(
                           (*in.pods)[static_cast<size_t>(*in.map->retiredOrdinal(id))].node_id))});
    }
  }
}

void findUnexpected(const HealInput& in, HealPlan& plan) {
  for (const auto& n : in.local->nodes->nodes()) {
    if (n.inHandshake() || n.isMyself()) continue;
    bool is_pod = false;
    for (const auto& p : *in.pods) is_pod |= p.node_id == n.id;
    if (is_pod || in.map->retiredOrdinal(n.id)) continue;
    auto ordinal = in.map->ordinalOf(n.id);
    if (ordinal && *ordinal >= in.nodes) {
      plan.unexpected.push_back(
          fmt::format("node {} of ordinal {} is beyond --cluster-nodes {} "
                      "(scaled in?); it is kept",
                      text::shortId(n.id), *ordinal, in.nodes));
    } else if (!ordinal) {
      plan.unexpected.push_back(
          fmt::format("node {} at {} is no pod of this StatefulSet; it is "
                      "kept",
                      text::shortId(n.id), n.address.endpoint()));
    }
  }
}

}  // namespace

const char* healPhaseName(HealPhase phase) {
  switch (phase) {
    case HealPhase::Idle: return "idle";
    case HealPhase::Healing: return "healing";
    case HealPhase::Joining: return "joining";
    case HealPhase::Waiting: return "waiting";
  }
  return "unknown";
}

std::string HealAction::key() const {
  std::string k = fmt::format("{}:", target);
  for (const auto& a : args) k += a + " ";
  return k;
}

HealPlan planHealing(const HealInput& in) {
  HealPlan plan;
  if (in.local == nullptr || !in.local->nodes || in.local->myself() == nullptr) return plan;
  if (isEmpty(*in.local)) {
    planJoin(in, plan);
    return plan;
  }
  planAddressRepairs(in, plan);
  planReplicate(in, plan);
  planForcedFailover(in, plan);
  planForgets(in, plan);
  findUnexpected(in, plan);
  if (plan.phase == HealPhase::Idle && !plan.actions.empty()) plan.phase = HealPhase::Healing;
  if (plan.phase == HealPhase::Idle && !plan.waiting.empty()) plan.phase = HealPhase::Waiting;
  return plan;
}

}  // namespace agent::cluster
