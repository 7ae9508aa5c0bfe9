// SPDX-License-Identifier: Apache-2.0
#include "cluster/create_plan.h"

#include <doctest/doctest.h>

using namespace agent;
using namespace agent::cluster;
using Ranges = std::vector<nodes_conf::SlotRange>;

namespace {

// Placements from Kubernetes node names alone (no zones).
std::vector<Placement> onNodes(const std::vector<std::string>& names) {
  std::vector<Placement> out;
  for (const auto& n : names) out.push_back({n, ""});
  return out;
}

}  // namespace

TEST_CASE("slot ranges are redis-cli's") {
  CHECK(slotRanges(3) == Ranges{{0, 5460}, {5461, 10922}, {10923, 16383}});
  CHECK(slotRanges(4) == Ranges{{0, 4095}, {4096, 8191}, {8192, 12287}, {12288, 16383}});
  for (int m = 3; m <= 20; ++m) {
    auto r = slotRanges(m);
    CHECK(r.front().first == 0);
    CHECK(r.back().last == 16383);
    for (size_t i = 1; i < r.size(); ++i) CHECK(r[i].first == r[i - 1].last + 1);
  }
}

TEST_CASE("default placement without node names: replica r follows master (r - M) % M") {
  auto plan = planCreation(6, 1, {});
  CHECK(plan.masters == 3);
  CHECK(plan.master_ordinals == std::vector<int>{0, 1, 2});
  CHECK(plan.replica_of == std::map<int, int>{{3, 0}, {4, 1}, {5, 2}});
  auto nine = planCreation(9, 2, {});
  CHECK(nine.replica_of == std::map<int, int>{{3, 0}, {4, 1}, {5, 2}, {6, 0}, {7, 1}, {8, 2}});
}

TEST_CASE("no replica on its master's Kubernetes node when that can be avoided") {
  // Pods spread round-robin over three nodes: pod i on node i % 3, so the default 3->0 is bad.
  std::vector<std::string> nodes = {"n0", "n1", "n2", "n0", "n1", "n2"};
  auto plan = planCreation(6, 1, onNodes(nodes));
  CHECK(plan.master_ordinals == std::vector<int>{0, 1, 2});
  CHECK(plan.antiAffinityScore == 0);
  for (const auto& [r, m] : plan.replica_of) CHECK(nodes[r] != nodes[m]);

  std::vector<std::string> nine = {"n0", "n1", "n2", "n0", "n1", "n2", "n0", "n1", "n2"};
  auto p9 = planCreation(9, 2, onNodes(nine));
  CHECK(p9.antiAffinityScore == 0);
}

TEST_CASE("unknown node names never score; pinned replicas stay") {
  CHECK(antiAffinityScore({{3, 0}}, onNodes({"", "", "", ""})) == 0);
  auto plan = planCreation(6, 1, onNodes({"n0", "n1", "n2", "n0", "n1", "n2"}), {{3, 0}});
  CHECK(plan.replica_of.at(3) == 0);
  CHECK(plan.antiAffinityScore == 10000);
}

TEST_CASE("masters spread over Kubernetes nodes: pods placed in pairs") {
  // Pods 0 and 1 share a node, 2 and 3, 4 and 5: masters 0, 2, 4, one per node.
  auto plan = planCreation(6, 1, onNodes({"n0", "n0", "n1", "n1", "n2", "n2"}));
  CHECK(plan.master_ordinals == std::vector<int>{0, 2, 4});
  CHECK(plan.antiAffinityScore == 0);
  for (const auto& [r, m] : plan.replica_of) CHECK(r / 2 != m / 2);
  CHECK(plan.isMaster(4));
  CHECK_FALSE(plan.isMaster(1));
  CHECK(plan.masterIndex(2) == std::optional<size_t>(1));
}

TEST_CASE("zones: masters spread over zones first, replicas out of their master's zone") {
  // Six nodes, three zones; pods 0..2 all in zone a: masters 0, 3, 4 (zones a, b, c).
  std::vector<Placement> places = {{"n0", "a"}, {"n1", "a"}, {"n2", "a"},
                                   {"n3", "b"}, {"n4", "c"}, {"n5", "b"}};
  auto plan = planCreation(6, 1, places);
  CHECK(plan.master_ordinals == std::vector<int>{0, 3, 4});
  for (const auto& [r, m] : plan.replica_of) {
    CHECK(places[static_cast<size_t>(r)].k8s_node != places[static_cast<size_t>(m)].k8s_node);
  }
  // Replicas 1, 2 (zone a) and 5 (zone b): none needs to follow a master of its own zone.
  CHECK(plan.antiAffinityScore == 0);
  // Zones in round-robin order: the default plan already spreads, replicas move off-zone.
  std::vector<Placement> rr = {{"n0", "a"}, {"n1", "b"}, {"n2", "c"},
                               {"n3", "a"}, {"n4", "b"}, {"n5", "c"}};
  auto p = planCreation(6, 1, rr);
  CHECK(p.master_ordinals == std::vector<int>{0, 1, 2});
  CHECK(p.antiAffinityScore == 0);
  CHECK(p.replica_of.at(3) != 0);
}

TEST_CASE("masters an earlier attempt chose are kept") {
  // Ordinal 5 already owns the second range: it stays that range's master.
  auto plan = planCreation(6, 1, {}, {}, {{1, 5}});
  CHECK(plan.master_ordinals == std::vector<int>{0, 5, 1});
  CHECK(plan.replica_of.size() == 3);
  for (const auto& [r, m] : plan.replica_of) CHECK_FALSE(plan.isMaster(r));
}
