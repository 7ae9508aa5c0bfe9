// SPDX-License-Identifier: Apache-2.0
#include "cluster/create_plan.h"

#include <cmath>

namespace agent::cluster {

namespace {

bool sameNode(const std::vector<std::string>& k8s_nodes, int a, int b) {
  auto ua = static_cast<size_t>(a);
  auto ub = static_cast<size_t>(b);
  if (ua >= k8s_nodes.size() || ub >= k8s_nodes.size()) return false;
  return !k8s_nodes[ua].empty() && k8s_nodes[ua] == k8s_nodes[ub];
}

// Pairwise swaps of replicas between masters while the score drops: deterministic (fixed order)
// and quick for any StatefulSet size that makes sense.
void improve(std::map<int, int>& replica_of, const std::vector<std::string>& k8s_nodes,
             const std::map<int, int>& pinned) {
  int best = antiAffinityScore(replica_of, k8s_nodes);
  bool improved = true;
  while (improved && best > 0) {
    improved = false;
    for (auto a = replica_of.begin(); a != replica_of.end(); ++a) {
      for (auto b = std::next(a); b != replica_of.end(); ++b) {
        if (a->second == b->second || pinned.count(a->first) || pinned.count(b->first)) continue;
        std::swap(a->second, b->second);
        int score = antiAffinityScore(replica_of, k8s_nodes);
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

int antiAffinityScore(const std::map<int, int>& replica_of,
                      const std::vector<std::string>& k8s_nodes) {
  int score = 0;
  for (auto a = replica_of.begin(); a != replica_of.end(); ++a) {
    if (sameNode(k8s_nodes, a->first, a->second)) score += 10000;
    for (auto b = std::next(a); b != replica_of.end(); ++b) {
      if (a->second == b->second && sameNode(k8s_nodes, a->first, b->first)) score += 1;
    }
  }
  return score;
}

CreatePlan planCreation(int nodes, int replicas, const std::vector<std::string>& k8s_nodes,
                        const std::map<int, int>& pinned) {
  CreatePlan plan;
  plan.masters = nodes / (replicas + 1);
  plan.slots = slotRanges(plan.masters);
  std::map<int, int> load;
  for (const auto& [replica, master] : pinned) {
    plan.replica_of[replica] = master;
    ++load[master];
  }
  // Unpinned replicas go round-robin to the masters with room, lowest ordinal first.
  int next = 0;
  for (int r = plan.masters; r < nodes; ++r) {
    if (plan.replica_of.count(r)) continue;
    int master = (r - plan.masters) % plan.masters;
    for (int tries = 0; tries < plan.masters && load[master] >= replicas; ++tries) {
      master = (next++) % plan.masters;
    }
    plan.replica_of[r] = master;
    ++load[master];
  }
  improve(plan.replica_of, k8s_nodes, pinned);
  plan.antiAffinityScore = antiAffinityScore(plan.replica_of, k8s_nodes);
  return plan;
}

}  // namespace agent::cluster
