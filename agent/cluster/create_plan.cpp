// SPDX-License-Identifier: Apache-2.0
#include "cluster/create_plan.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace agent::cluster {

namespace {

const Placement& placeOf(const std::vector<Placement>& places, int ordinal) {
  static const Placement kUnknown;
  auto u = static_cast<size_t>(ordinal);
  return u < places.size() ? places[u] : kUnknown;
}

bool sameNode(const std::vector<Placement>& places, int a, int b) {
  const auto& pa = placeOf(places, a);
  return !pa.k8s_node.empty() && pa.k8s_node == placeOf(places, b).k8s_node;
}

bool sameZone(const std::vector<Placement>& places, int a, int b) {
  const auto& pa = placeOf(places, a);
  return !pa.zone.empty() && pa.zone == placeOf(places, b).zone;
}

// How many of the masters chosen so far share a zone, and a Kubernetes node, with `ordinal`.
std::pair<int, int> crowding(const std::vector<Placement>& places, const std::vector<int>& chosen,
                             int ordinal) {
  std::pair<int, int> out{0, 0};
  for (int c : chosen) {
    out.first += sameZone(places, c, ordinal) ? 1 : 0;
    out.second += sameNode(places, c, ordinal) ? 1 : 0;
  }
  return out;
}

// Greedy spreading: each unpinned slot range goes to the lowest ordinal whose zone, then node,
// holds the fewest masters so far. Without placements that is ordinals 0..M-1.
std::vector<int> chooseMasters(int nodes, int masters, const std::vector<Placement>& places,
                               const std::map<int, int>& pinned_masters) {
  std::vector<int> out(static_cast<size_t>(masters), -1);
  std::vector<int> chosen;
  for (const auto& [index, ordinal] : pinned_masters) {
    if (index < 0 || index >= masters) continue;
    out[static_cast<size_t>(index)] = ordinal;
    chosen.push_back(ordinal);
  }
  for (auto& slot : out) {
    if (slot >= 0) continue;
    std::pair<int, int> best_cost;
    for (int o = 0; o < nodes; ++o) {
      if (std::find(chosen.begin(), chosen.end(), o) != chosen.end()) continue;
      auto cost = crowding(places, chosen, o);
      if (slot < 0 || cost < best_cost) {
        slot = o;
        best_cost = cost;
      }
    }
    chosen.push_back(slot);
  }
  return out;
}

// Pairwise swaps of replicas between masters while the score drops: deterministic (fixed order)
// and quick for any StatefulSet size that makes sense.
void improve(std::map<int, int>& replica_of, const std::vector<Placement>& places,
             const std::map<int, int>& pinned) {
  int best = antiAffinityScore(replica_of, places);
  bool improved = true;
  while (improved && best > 0) {
    improved = false;
    for (auto a = replica_of.begin(); a != replica_of.end(); ++a) {
      for (auto b = std::next(a); b != replica_of.end(); ++b) {
        if (a->second == b->second || pinned.count(a->first) || pinned.count(b->first)) continue;
        std::swap(a->second, b->second);
        int score = antiAffinityScore(replica_of, places);
        if (score < best) {
          best = score;
          improved = true;
        } else {
          std::swap(a->second, b->second);
        }
      }
    }
  }
}

}  // namespace

std::vector<nodes_conf::SlotRange> slotRanges(int masters) {
  // The same arithmetic as redis-cli (clusterManagerCommandCreate), single-precision float
  // included, so the ranges are the ones users know.
  std::vector<nodes_conf::SlotRange> out;
  float per_node = static_cast<float>(nodes_conf::kSlotCount) / static_cast<float>(masters);
  float cursor = 0.0F;
  long first = 0;
  for (int i = 0; i < masters; ++i) {
    long last = std::lround(cursor + per_node - 1);
    if (last > nodes_conf::kSlotCount || i == masters - 1) last = nodes_conf::kSlotCount - 1;
    if (last < first) last = first;
    out.push_back({static_cast<int>(first), static_cast<int>(last)});
    first = last + 1;
    cursor += per_node;
  }
  return out;
}

int antiAffinityScore(const std::map<int, int>& replica_of, const std::vector<Placement>& places) {
  int score = 0;
  for (auto a = replica_of.begin(); a != replica_of.end(); ++a) {
    if (sameNode(places, a->first, a->second)) score += 10000;
    if (sameZone(places, a->first, a->second)) score += 100;
    for (auto b = std::next(a); b != replica_of.end(); ++b) {
      if (a->second == b->second && sameNode(places, a->first, b->first)) score += 1;
    }
  }
  return score;
}

std::optional<size_t> CreatePlan::masterIndex(int ordinal) const {
  auto it = std::find(master_ordinals.begin(), master_ordinals.end(), ordinal);
  if (it == master_ordinals.end()) return std::nullopt;
  return static_cast<size_t>(it - master_ordinals.begin());
}

CreatePlan planCreation(int nodes, int replicas, const std::vector<Placement>& places,
                        const std::map<int, int>& pinned,
                        const std::map<int, int>& pinned_masters) {
  CreatePlan plan;
  plan.masters = nodes / (replicas + 1);
  plan.slots = slotRanges(plan.masters);
  plan.master_ordinals = chooseMasters(nodes, plan.masters, places, pinned_masters);
  std::map<int, int> load;
  for (const auto& [replica, master] : pinned) {
    plan.replica_of[replica] = master;
    ++load[master];
  }
  // The k-th replica (in ordinal order) goes to master k % M while it has room, else round-robin
  // to the masters with room; with masters 0..M-1 replica r follows master (r - M) % M.
  int next = 0;
  int k = -1;
  for (int r = 0; r < nodes; ++r) {
    if (plan.isMaster(r)) continue;
    ++k;
    if (plan.replica_of.count(r)) continue;
    int index = k % plan.masters;
    auto master = [&plan](int i) { return plan.master_ordinals[static_cast<size_t>(i)]; };
    for (int tries = 0; tries < plan.masters && load[master(index)] >= replicas; ++tries) {
      index = (next++) % plan.masters;
    }
    plan.replica_of[r] = master(index);
    ++load[master(index)];
  }
  improve(plan.replica_of, places, pinned);
  plan.antiAffinityScore = antiAffinityScore(plan.replica_of, places);
  return plan;
}

}  // namespace agent::cluster
