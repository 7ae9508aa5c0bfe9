// SPDX-License-Identifier: Apache-2.0
#include "cluster/create_plan.h"

#include <doctest/doctest.h>

using namespace agent;
using namespace agent::cluster;
using Ranges = std::vector<nodes_conf::SlotRange>;

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
  CHECK(plan.replica_of == std::map<int, int>{{3, 0}, {4, 1}, {5, 2}});
  auto nine = planCreation(9, 2, {});
  CHECK(nine.replica_of == std::map<int, int>{{3, 0}, {4, 1}, {5, 2}, {6, 0}, {7, 1}, {8, 2}});
}

TEST_CASE("no replica on its master's Kubernetes node when that can be avoided") {
  // Pods spread round-robin over three nodes: pod i on node i % 3, so the default 3->0 is bad.
  std::vector<std::string> nodes = {"n0", "n1", "n2", "n0", "n1", "n2"};
  auto plan = planCreation(6, 1, nodes);
  CHECK(plan.antiAffinityScore == 0);
  for (const auto& [r, m] : plan.replica_of) CHECK(nodes[r] != nodes[m]);

  std::vector<std::string> nine = {"n0", "n1", "n2", "n0", "n1", "n2", "n0", "n1", "n2"};
  auto p9 = planCreation(9, 2, nine);
  CHECK(p9.antiAffinityScore == 0);
}

TEST_CASE("unknown node names never score; pinned replicas stay") {
  CHECK(antiAffinityScore({{3, 0}}, {"", "", "", ""}) == 0);
  std::vector<std::string> nodes = {"n0", "n1", "n2", "n0", "n1", "n2"};
  auto plan = planCreation(6, 1, nodes, {{3, 0}});
  CHECK(plan.replica_of.at(3) == 0);
  CHECK(plan.antiAffinityScore == 10000);
}
