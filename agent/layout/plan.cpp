// SPDX-License-Identifier: Apache-2.0
#include "layout/plan.h"

#include <fmt/format.h>
#include <algorithm>

#include "cluster/health.h"
#include "common/text.h"

namespace agent::layout {

namespace {

// The search visits at most this many partial layouts; with up to three members per shard that
// is an exhaustive search well beyond 10 shards. Beyond it the best layout found so far is used.
constexpr int64_t kSearchBound = 200000;

// Score components, compared in this order; lower is better.
enum Component { ZonePairs, NodePairs, ReplicaZone, ReplicaNode, OffOrdinals, Moves, Count };
using Score = std::array<int, Count>;

Score operator+(Score a, const Score& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

// A member reduced to what the search compares: interned zone and node (-1 = none).
struct Cand {
  int zone = -1;
  int node = -1;
  bool preferred = false;
  bool eligible = false;
};

struct Model {
  std::vector<std::vector<Cand>> shards;  // by shard, members in Shard order
  std::vector<std::string> zones;
  std::vector<std::string> nodes;
  bool ordinals = false;
};

int intern(std::vector<std::string>& names, const std::string& name) {
  if (name.empty()) return -1;
  auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<int>(it - names.begin());
  names.push_back(name);
  return static_cast<int>(names.size() - 1);
}

// What choosing member `c` of `shard` as its master adds, given the masters chosen so far.
Score delta(const Model& m, const std::vector<Cand>& shard, size_t c, const std::vector<int>& zc,
            const std::vector<int>& nc) {
  Score d{};
  const Cand& x = shard[c];
  if (x.zone >= 0) d[ZonePairs] = zc[static_cast<size_t>(x.zone)];
  if (x.node >= 0) d[NodePairs] = nc[static_cast<size_t>(x.node)];
  for (size_t r = 0; r < shard.size(); ++r) {
    if (r == c) continue;
    d[ReplicaZone] += x.zone >= 0 && shard[r].zone == x.zone ? 1 : 0;
    d[ReplicaNode] += x.node >= 0 && shard[r].node == x.node ? 1 : 0;
  }
  d[OffOrdinals] = m.ordinals && !x.preferred ? 1 : 0;
  d[Moves] = c != 0 ? 1 : 0;
  return d;
}

Score scoreOf(const Model& m, const std::vector<size_t>& choice) {
  std::vector<int> zc(m.zones.size(), 0), nc(m.nodes.size(), 0);
  Score s{};
  for (size_t i = 0; i < m.shards.size(); ++i) {
    const auto& shard = m.shards[i];
    s = s + delta(m, shard, choice[i], zc, nc);
    const Cand& x = shard[choice[i]];
    if (x.zone >= 0) ++zc[static_cast<size_t>(x.zone)];
    if (x.node >= 0) ++nc[static_cast<size_t>(x.node)];
  }
  return s;
}

// Branch and bound over every shard's eligible members. Every component only grows as masters
// are added, so a partial layout that is not better than the best one found is cut off; the
// current layout is tried first and wins every tie.
class Search {
 public:
  explicit Search(const Model& m)
      : m_(m),
        choice_(m.shards.size(), 0),
        best_choice_(choice_),
        best_(scoreOf(m, choice_)),
        zc_(m.zones.size(), 0),
        nc_(m.nodes.size(), 0) {}

  void run() { visit(0, Score{}); }
  const std::vector<size_t>& best() const { return best_choice_; }
  bool complete() const { return visited_ <= kSearchBound; }

 private:
  void visit(size_t i, const Score& partial) {
    if (++visited_ > kSearchBound) return;
    if (i == m_.shards.size()) {
      if (partial < best_) {
        best_ = partial;
        best_choice_ = choice_;
      }
      return;
    }
    const auto& shard = m_.shards[i];
    for (size_t c = 0; c < shard.size(); ++c) {
      if (c != 0 && !shard[c].eligible) continue;
      Score next = partial + delta(m_, shard, c, zc_, nc_);
      if (!(next < best_)) continue;
      choice_[i] = c;
      count(shard[c], 1);
      visit(i + 1, next);
      count(shard[c], -1);
    }
    choice_[i] = 0;
  }
  void count(const Cand& x, int by) {
    if (x.zone >= 0) zc_[static_cast<size_t>(x.zone)] += by;
    if (x.node >= 0) nc_[static_cast<size_t>(x.node)] += by;
  }

  const Model& m_;
  std::vector<size_t> choice_;
  std::vector<size_t> best_choice_;
  Score best_;
  std::vector<int> zc_;
  std::vector<int> nc_;
  int64_t visited_ = 0;
};

std::string slotText(const nodes_conf::Node& n) {
  std::string out;
  for (const auto& r : n.slots) {
    if (!out.empty()) out += ",";
    out += r.first == r.last ? std::to_string(r.first) : fmt::format("{}-{}", r.first, r.last);
  }
  return out;
}

bool eligibleReplica(const nodes_conf::Node& n) {
  return cluster::working(n) && (n.isMyself() || n.isConnected());
}

Member memberOf(const nodes_conf::Node& n, const Input& in) {
  Member m;
  m.id = n.id;
  auto it = in.places.find(n.id);
  if (it != in.places.end()) m.place = it->second;
  m.name = m.place && !m.place->pod.empty() ? m.place->pod : text::shortId(n.id);
  m.eligible = eligibleReplica(n) && m.place.has_value();
  return m;
}

// Every master with slots and its replicas, in slot order; replicas by ordinal, then ID.
std::vector<Shard> shardsOf(const Input& in) {
  std::vector<Shard> out;
  const auto& nodes = in.view->nodes();
  for (const auto& n : nodes) {
    if (!n.isMaster() || n.slots.empty()) continue;
    Shard s;
    s.slots = slotText(n);
    s.first_slot = n.slots.front().first;
    s.members.push_back(memberOf(n, in));
    s.members.front().eligible = true;
    for (const auto& r : nodes) {
      if (r.isReplica() && r.master_id == n.id) s.members.push_back(memberOf(r, in));
    }
    auto ordinal = [](const Member& m) { return m.place ? m.place->ordinal : 1 << 30; };
    std::sort(s.members.begin() + 1, s.members.end(), [&](const Member& a, const Member& b) {
      return ordinal(a) != ordinal(b) ? ordinal(a) < ordinal(b) : a.id < b.id;
    });
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const Shard& a, const Shard& b) { return a.first_slot < b.first_slot; });
  return out;
}

Model modelOf(const std::vector<Shard>& shards, const Input& in) {
  Model m;
  m.ordinals = in.target == Target::Ordinals;
  for (const auto& s : shards) {
    std::vector<Cand> cands;
    for (const auto& mem : s.members) {
      Cand c;
      c.eligible = mem.eligible;
      if (mem.place) {
        c.zone = intern(m.zones, mem.place->where.zone);
        c.node = intern(m.nodes, mem.place->where.k8s_node);
        const auto& pref = in.preferred_masters;
        c.preferred = std::find(pref.begin(), pref.end(), mem.place->ordinal) != pref.end();
      }
      cands.push_back(c);
    }
    m.shards.push_back(std::move(cands));
  }
  return m;
}

Spread spreadOf(const std::vector<Shard>& shards, const std::vector<size_t>& choice) {
  Spread s;
  for (size_t i = 0; i < shards.size(); ++i) {
    const Member& m = shards[i].members[choice[i]];
    if (!m.place) continue;
    const auto& where = m.place->where;
    if (!where.k8s_node.empty()) s.node_pairs += s.per_node[where.k8s_node]++;
    if (!where.zone.empty()) s.zone_pairs += s.per_zone[where.zone]++;
  }
  return s;
}

const cluster::Placement& whereOf(const Member& m) {
  static const cluster::Placement kNone;
  return m.place ? m.place->where : kNone;
}

std::string orNone(const std::string& s) {
  return s.empty() ? "none" : s;
}

// The other master (of the current layout) that shares `field` with shard i's master.
const Member* sharing(const std::vector<Shard>& shards, size_t i,
                      std::string cluster::Placement::*field) {
  const std::string& mine = whereOf(shards[i].master()).*field;
  if (mine.empty()) return nullptr;
  for (size_t j = 0; j < shards.size(); ++j) {
    if (j != i && whereOf(shards[j].master()).*field == mine) return &shards[j].master();
  }
  return nullptr;
}

std::string replicasWith(const Shard& s, std::string cluster::Placement::*field) {
  std::vector<std::string> names;
  const std::string& mine = whereOf(s.master()).*field;
  for (size_t r = 1; r < s.members.size() && !mine.empty(); ++r) {
    if (whereOf(s.members[r]).*field == mine) names.push_back(s.members[r].name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

// Why shard i's master should move, told from the current layout.
std::string reasonFor(const std::vector<Shard>& shards, size_t i, bool preferred_target) {
  const Shard& s = shards[i];
  const Member& cur = s.master();
  const Member& want = s.members[s.wanted];
  if (const Member* o = sharing(shards, i, &cluster::Placement::zone)) {
    return fmt::format("master {} shares zone {} with master {}; {} is in zone {}", cur.name,
                       whereOf(cur).zone, o->name, want.name, orNone(whereOf(want).zone));
  }
  if (const Member* o = sharing(shards, i, &cluster::Placement::k8s_node)) {
    return fmt::format("master {} shares Kubernetes node {} with master {}; {} runs on {}",
                       cur.name, whereOf(cur).k8s_node, o->name, want.name,
                       orNone(whereOf(want).k8s_node));
  }
  if (auto r = replicasWith(s, &cluster::Placement::zone); !r.empty()) {
    return fmt::format("replica {} is in zone {} with its master {}", r, whereOf(cur).zone,
                       cur.name);
  }
  if (auto r = replicasWith(s, &cluster::Placement::k8s_node); !r.empty()) {
    return fmt::format("replica {} runs on Kubernetes node {} with its master {}", r,
                       whereOf(cur).k8s_node, cur.name);
  }
  if (preferred_target) {
    return fmt::format("the creator chose {} as a master and moving back costs no spread",
                       want.name);
  }
  return "a better layout for the whole cluster needs this move";
}

// The moves from the current layout to `target`, each next one the best step on the way.
std::vector<Move> orderMoves(const Model& m, const std::vector<Shard>& shards,
                             const std::vector<size_t>& target) {
  std::vector<size_t> cur(shards.size(), 0);
  std::vector<Move> out;
  while (true) {
    std::optional<size_t> pick;
    Score pick_score{};
    for (size_t i = 0; i < shards.size(); ++i) {
      if (cur[i] == target[i]) continue;
      auto trial = cur;
      trial[i] = target[i];
      Score sc = scoreOf(m, trial);
      if (!pick || sc < pick_score) {
        pick = i;
        pick_score = sc;
      }
    }
    if (!pick) return out;
    cur[*pick] = target[*pick];
    const Shard& s = shards[*pick];
    const Member& to = s.members[target[*pick]];
    out.push_back({*pick, s.master().id, to.id, to.name, s.reason});
  }
}

}  // namespace

std::vector<int> creatorMasters(int nodes, int replicas,
                                const std::map<std::string, Place>& places) {
  std::vector<cluster::Placement> by_ordinal(static_cast<size_t>(std::max(nodes, 0)));
  for (const auto& [id, p] : places) {
    if (p.ordinal >= 0 && p.ordinal < nodes) by_ordinal[static_cast<size_t>(p.ordinal)] = p.where;
  }
  return cluster::planCreation(nodes, replicas, by_ordinal).master_ordinals;
}

Plan plan(const Input& in) {
  Plan out;
  if (in.view == nullptr) return out;
  out.shards = shardsOf(in);
  for (const auto& s : out.shards) {
    for (const auto& m : s.members) {
      if (!m.place) out.unknown.push_back(m.name);
    }
  }
  Model model = modelOf(out.shards, in);
  std::vector<size_t> current(out.shards.size(), 0);
  // Also with Target::Off: the metrics tell whether a better layout is possible.
  Search search(model);
  search.run();
  std::vector<size_t> best = search.best();
  out.searched_all = search.complete();
  for (size_t i = 0; i < out.shards.size(); ++i) out.shards[i].wanted = best[i];
  for (size_t i = 0; i < out.shards.size(); ++i) {
    if (out.shards[i].off()) {
      out.shards[i].reason = reasonFor(out.shards, i, in.target == Target::Ordinals);
    }
  }
  out.now = spreadOf(out.shards, current);
  out.best = spreadOf(out.shards, best);
  out.moves = orderMoves(model, out.shards, best);
  return out;
}

const char* targetName(Target target) {
  switch (target) {
    case Target::Off: return "off";
    case Target::Spread: return "spread";
    case Target::Ordinals: return "ordinals";
  }
  return "unknown";
}

int Plan::offShards() const {
  return static_cast<int>(
      std::count_if(shards.begin(), shards.end(), [](const Shard& s) { return s.off(); }));
}

}  // namespace agent::layout
