// SPDX-License-Identifier: Apache-2.0
// Repairs, in the order they are planned each pass. What counts as evidence of identity is in
// cluster/identity.h; none of these acts on an address or an ID at an address alone.
//   1. addresses: a known peer that is noaddr, flagged fail, or known at another IP than its
//      pod has now gets a CLUSTER MEET to its pod's IP, if that address answers with the known
//      ID (docs/redis-facts.md, "A node's new address": a MEET to a known node's new address
//      updates it in place);
//   2. rejoining: when members of this node's own cluster (IDs its view knows) do not know it
//      (they forgot it), it MEETs them; never a node its view does not know;
//   3. joining: an empty node MEETs the members of the existing cluster that their agents vouch
//      for and that form the cluster the vouched pods agree on; anything else is refused and
//      reported. Once it sees all slots it replicates the master with the fewest replicas;
//   4. a master whose identity is lost (below) is taken over by its best replica with FAILOVER
//      FORCE: the lost master's data went with it;
//   5. lost IDs: forgotten on every node (FORGET acts on one node's view only; see
//      docs/redis-facts.md, "Forgetting a node"), once it owns no slots, nobody replicates it
//      and nobody is connected to it, judged from a round that saw every pod.
// An ID is lost only when its pod's own agent vouches for a different node that started there
// without any earlier nodes.conf, after the ID had been confirmed in that pod. A node whose pod
// is down, unreachable or misnamed in DNS is never lost: it may come back with its data.
#include "cluster/heal_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "cluster/commands.h"
#include "cluster/identity.h"
#include "cluster/versions.h"
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

void refuse(HealPlan& plan, const PeerProbe& p, const std::string& what, std::string reason) {
  plan.refused.push_back(
      {fmt::format("{}|{}|{}", p.ordinal, p.node_id, what), p.pod(), std::move(reason)});
}

// The members of formed clusters among the pods that their agents vouch for and that agree on
// one cluster; every other formed-cluster node found is refused.
std::vector<const PeerProbe*> vouchedMembers(const HealInput& in, HealPlan& plan) {
  std::vector<const PeerProbe*> vouched;
  for (const auto& p : *in.pods) {
    if (p.ordinal == in.my_ordinal || !memberOfFormedCluster(p)) continue;
    Verdict v = vouchFor(p, in.set);
    if (v.vouch == Vouch::Confirmed) {
      vouched.push_back(&p);
    } else if (v.vouch != Vouch::OtherNode) {  // OtherNode: its agent is catching up
      refuse(plan, p, "vouch", v.why);
    }
  }
  std::vector<const PeerProbe*> outsiders;
  auto agreed = agreedCluster(vouched, outsiders);
  for (const auto* o : outsiders) {
    refuse(plan, *o, "agree",
           fmt::format("node {} at {}'s address is not in the cluster the other pods agree on",
                       text::shortId(o->node_id), o->pod()));
  }
  return agreed;
}

void planJoin(const HealInput& in, HealPlan& plan) {
  bool any = false;
  for (const auto& p : *in.pods) any |= p.ordinal != in.my_ordinal && memberOfFormedCluster(p);
  if (!any) return;  // no cluster yet: creating one is ordinal 0's job
  plan.phase = HealPhase::Joining;
  auto members = vouchedMembers(in, plan);
  if (members.empty()) {
    plan.waiting.push_back("no member of the cluster is vouched for by its pod's agent yet");
    return;
  }
  for (const auto* m : members) {
    plan.actions.push_back(meetAction(*m, nullptr, in.default_port,
                                      "this node is empty; it joins the existing cluster"));
  }
}

// True while `viewer` has a handshake under way with `ip` (a MEET in flight).
bool meeting(const Snapshot& viewer, const std::string& ip) {
  for (const auto& n : viewer.nodes->nodes()) {
    if (n.inHandshake() && n.address.host == ip) return true;
  }
  return false;
}

// Members of this node's own cluster (their IDs are in its view) that do not know it: they
// forgot it. Each gets a MEET from this node, which introduces it again.
void planRejoin(const HealInput& in, HealPlan& plan) {
  const auto& local = *in.local;
  if (local.slotsAssigned() != nodes_conf::kSlotCount) return;  // not formed: creation's job
  const std::string me = local.myId();
  for (const auto& p : *in.pods) {
    if (p.ordinal == in.my_ordinal || !p.live()) continue;
    const auto* known = local.nodes->find(p.node_id);
    if (known == nullptr || known->isMyself() || known->inHandshake()) continue;
    if (p.snapshot->nodes->find(me) != nullptr ||
        meeting(*p.snapshot, local.myself()->address.host)) {
      continue;
    }
    plan.actions.push_back(
        meetAction(p, known, in.default_port,
                   fmt::format("this node is unknown to {}, a member of its cluster", p.pod())));
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

// The creator gives every node its config epoch before its MEETs and attaches its planned
// replicas once every handshake is done. A node it set up that sees the cluster before then must
// not pick a master on its own: it would take another shard's replica place (seen with a
// 24-pod TLS creation on a loaded machine, MEETs taking >10 s). A wiped or new pod's node has
// epoch 0 and joins at once; the wait ends after kCreatorGraceS of Redis uptime, in case the
// creator stopped half-way.
bool placedByCreator(const HealInput& in, HealPlan& plan) {
  const auto* me = in.local->myself();
  int64_t uptime = in.local->info.integerOr("uptime_in_seconds", kCreatorGraceS);
  if (me->config_epoch == 0 || uptime >= kCreatorGraceS) return false;
  plan.phase = HealPhase::Waiting;
  plan.waiting.push_back(fmt::format(
      "not attaching this node as a replica yet: the creator gave it config epoch {} and "
      "attaches it itself (waiting until Redis has run {} s, now {} s)",
      me->config_epoch, kCreatorGraceS, uptime));
  return true;
}

// The Kubernetes node that `id`'s pod runs on, as its agent says; "" when not known.
std::string k8sNodeOf(const HealInput& in, const std::string& id) {
  for (const auto& p : *in.pods) {
    if (p.node_id == id && p.agent) return p.agent->k8s_node;
  }
  return {};
}

using Order = std::pair<int, std::string>;
struct Joiner {
  Order order;
  const nodes_conf::Node* node;
};
// A master a joiner may follow: (replicas so far, order) sorts the emptiest first.
struct Leader {
  int replicas;
  Order order;
  const nodes_conf::Node* node;
  std::string k8s_node;
};

// The joiners that stay masters of new shards: while the cluster has fewer shards (masters that
// own slots, failing or not) than the shape asks for (nodes / (replicas + 1)), one per missing
// shard, among joiners within the
// shape, in ordinal order, each the one whose Kubernetes node holds the fewest masters so far
// (like creation, cluster/create_plan.h). Without a known shape, none.
std::vector<Leader> newShards(const HealInput& in, const std::vector<Joiner>& joiners,
                              const std::vector<Leader>& masters) {
  std::vector<Leader> out;
  if (in.replicas < 0) return out;
  // Every shard counts, failing ones too: a shard whose master is down is not missing.
  int shards = 0;
  for (const auto& n : in.local->nodes->nodes()) {
    shards += n.isMaster() && !n.slots.empty() && !n.inHandshake() ? 1 : 0;
  }
  int missing = in.nodes / (in.replicas + 1) - shards;
  std::map<std::string, int> per_node;
  for (const auto& m : masters) ++per_node[m.k8s_node];
  while (missing-- > 0) {
    const Joiner* best = nullptr;
    int best_crowd = 0;
    for (const auto& j : joiners) {
      bool taken =
          std::any_of(out.begin(), out.end(), [&](const Leader& l) { return l.node == j.node; });
      if (taken || j.order.first >= in.nodes) continue;
      std::string where = k8sNodeOf(in, j.node->id);
      int crowd = where.empty() ? 0 : per_node[where];
      if (best == nullptr || crowd < best_crowd) {
        best = &j;
        best_crowd = crowd;
      }
    }
    if (best == nullptr) break;
    std::string where = k8sNodeOf(in, best->node->id);
    if (!where.empty()) ++per_node[where];
    out.push_back(
        {healthyReplicas(*in.local->nodes, best->node->id), best->order, best->node, where});
  }
  return out;
}

// Which master the joiner follows: the one with the fewest replicas so far, preferring one on
// another Kubernetes node, then the lowest ordinal.
Leader* leaderFor(std::vector<Leader>& leaders, const std::string& k8s_node) {
  Leader* best = nullptr;
  auto key = [&](const Leader& l) {
    bool same = !k8s_node.empty() && l.k8s_node == k8s_node;
    return std::tuple(l.replicas, same ? 1 : 0, l.order);
  };
  for (auto& l : leaders) {
    if (best == nullptr || key(l) < key(*best)) best = &l;
  }
  return best;
}

// Empty masters that already know the whole cluster (joiners) either stay masters of new
// shards (newShards, after a scale-out of the shape) or become replicas of the masters with the
// fewest replicas (the shards that lost a member, or every shard after the replicas grew).
// Every agent computes the same assignment from the same view (joiners in ordinal order), so
// several pods joining at once spread out, and a joiner that stays master sends nothing.
void planReplicate(const HealInput& in, HealPlan& plan) {
  const auto& view = *in.local->nodes;
  const auto* me = in.local->myself();
  if (!me->isMaster() || !me->slots.empty() || in.local->keys > 0 ||
      in.local->slotsAssigned() != nodes_conf::kSlotCount || failoverPending(in, plan)) {
    return;
  }
  std::vector<Joiner> joiners;
  std::vector<Leader> masters;
  for (const auto& n : view.nodes()) {
    if (n.inHandshake() || n.isNoaddr() || n.isFailed() || n.isPfail() || !n.isMaster()) continue;
    if (n.slots.empty()) {
      joiners.push_back({orderOf(in, n.id), &n});
    } else {
      masters.push_back({healthyReplicas(view, n.id), orderOf(in, n.id), &n, k8sNodeOf(in, n.id)});
    }
  }
  if (masters.empty()) return;
  std::sort(joiners.begin(), joiners.end(),
            [](const Joiner& a, const Joiner& b) { return a.order < b.order; });
  auto shards = newShards(in, joiners, masters);
  for (const auto& s : shards) {
    if (s.node == me) return;  // this node stays the master of a new shard
  }
  masters.insert(masters.end(), shards.begin(), shards.end());
  const Leader* mine = nullptr;
  for (const auto& j : joiners) {
    if (std::any_of(shards.begin(), shards.end(),
                    [&](const Leader& l) { return l.node == j.node; })) {
      continue;
    }
    Leader* least = leaderFor(masters, k8sNodeOf(in, j.node->id));
    if (j.node == me) {
      mine = least;
      break;
    }
    ++least->replicas;
  }
  if (mine == nullptr || placedByCreator(in, plan)) return;
  plan.phase = HealPhase::Joining;
  const auto* master = mine->node;
  if (auto why = followRefusal({podOf(in, me->id), redis::serverInfoFrom(in.local->info)},
                               {podOf(in, master->id), serverOf(*in.pods, master->id)})) {
    plan.phase = HealPhase::Waiting;
    plan.older_replica.push_back(*why);
    plan.waiting.push_back("not attaching this node as a replica: " + *why);
    return;
  }
  plan.actions.push_back(
      {Kind::Replicate,
       kLocal,
       {"CLUSTER", "REPLICATE", master->id},
       podOf(in, master->id),
       fmt::format("empty node joins as replica of the master with the fewest "
                   "replicas ({}{})",
                   mine->replicas, master->slots.empty() ? ", a new shard" : "")});
}

// The evidence that `id` is lost for good, or nullopt: it was confirmed in pod k, and pod k's
// own agent now vouches for another node that started there without any earlier nodes.conf;
// and no pod answers as `id`. Returns the pod that replaced it.
const PeerProbe* lostIn(const HealInput& in, const std::string& id) {
  auto retired = in.map->retiredEntry(id);
  if (!retired || !retired->confirmed || retired->ordinal < 0 ||
      retired->ordinal >= static_cast<int>(in.pods->size())) {
    return nullptr;
  }
  const auto& pod = (*in.pods)[static_cast<size_t>(retired->ordinal)];
  if (!pod.live() || pod.node_id == id || !vouched(pod, in.set) || !pod.agent->node_fresh) {
    return nullptr;
  }
  for (const auto& p : *in.pods) {
    if (p.node_id == id) return nullptr;
  }
  return &pod;
}

// A sibling replica of `master_id` with more data than `my_offset`, or one that was not looked
// at in this round (then nobody can tell yet which replica holds the most).
bool siblingMayHaveMore(const HealInput& in, const std::string& master_id, int64_t my_offset) {
  for (const auto& n : in.local->nodes->nodes()) {
    if (n.isMyself() || n.master_id != master_id) continue;
    for (const auto& p : *in.pods) {
      if (p.node_id != n.id || p.ordinal == in.my_ordinal) continue;
      if (p.stale) return true;
      if (p.live() && p.snapshot->myself()->master_id == master_id &&
          p.snapshot->info.integerOr("slave_repl_offset", 0) > my_offset) {
        return true;
      }
    }
  }
  return false;
}

void planForcedFailover(const HealInput& in, HealPlan& plan) {
  const auto* me = in.local->myself();
  if (!me->isReplica()) return;
  const PeerProbe* replaced_by = lostIn(in, me->master_id);
  if (replaced_by == nullptr) return;
  const auto* master = in.local->nodes->find(me->master_id);
  if (master == nullptr || master->slots.empty() || master->isConnected()) return;
  if (siblingMayHaveMore(in, me->master_id, in.local->info.integerOr("slave_repl_offset", 0))) {
    return;  // a sibling replica has (or may have) more data; its agent takes over
  }
  plan.actions.push_back(
      {Kind::FailoverForce, kLocal, failoverForceCommand(), text::shortId(me->master_id),
       fmt::format("master {} is lost for good ({}'s agent runs node {}, started there without "
                   "the old nodes.conf); this replica holds the shard's data",
                   text::shortId(me->master_id), replaced_by->pod(),
                   text::shortId(replaced_by->node_id))});
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
    const PeerProbe* replaced_by = lostIn(in, id);
    if (replaced_by == nullptr) continue;
    if (!in.full_round) {
      plan.waiting.push_back(fmt::format(
          "lost node {} is forgotten only after a round that saw every pod", text::shortId(id)));
      continue;
    }
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
           fmt::format("it is lost: {}'s agent runs node {}, started there "
                       "without the old nodes.conf",
                       replaced_by->pod(), text::shortId(replaced_by->node_id))});
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
  planRejoin(in, plan);
  planReplicate(in, plan);
  planForcedFailover(in, plan);
  planForgets(in, plan);
  findUnexpected(in, plan);
  if (plan.phase == HealPhase::Idle && !plan.actions.empty()) plan.phase = HealPhase::Healing;
  if (plan.phase == HealPhase::Idle && !plan.waiting.empty()) plan.phase = HealPhase::Waiting;
  return plan;
}

}  // namespace agent::cluster
