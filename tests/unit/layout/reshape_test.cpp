// SPDX-License-Identifier: Apache-2.0
// How far a view is from its shape, in slots, and the progress of a scale over passes.
#include "layout/reshape.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace agent;
using namespace agent::layout;

namespace {

// One CLUSTER NODES line per node: "<ordinal> <role> [slots]", ordinal -1 = not in the map.
struct Line {
  int ordinal;
  std::string flags;  // e.g. "master", "slave", "master,fail"
  std::string slots;  // e.g. "0-5460" or ""
  std::string master = "-";
};

std::string idOf(int k) {
  return fmt::format("{:040d}", k + 1);
}

struct View {
  explicit View(std::vector<Line> l) : lines(std::move(l)) {}
  std::vector<Line> lines;
  std::optional<nodes_conf::NodesConf> conf;
  nodes_conf::OrdinalMap map;

  Reshape assess(int nodes, int replicas) {
    std::string text;
    for (size_t k = 0; k < lines.size(); ++k) {
      const auto& l = lines[k];
      auto flags = (k == 0 ? "myself," : "") + l.flags;
      text += fmt::format("{} 127.0.0.{}:6379@16379 {} {} 0 0 1 connected {}\n", idOf(int(k)),
                          k + 1, flags, l.master, l.slots);
      if (l.ordinal >= 0) map.set(idOf(int(k)), l.ordinal, true);
    }
    auto parsed = nodes_conf::parseClusterNodes(text);
    REQUIRE(parsed);
    conf = std::move(*parsed);
    return assessReshape({&*conf, &map, nodes, replicas});
  }
};

std::vector<Line> threeShards() {
  return {{0, "master", "0-5460"},   {1, "master", "5461-10922"}, {2, "master", "10923-16383"},
          {3, "slave", "", idOf(0)}, {4, "slave", "", idOf(1)},   {5, "slave", "", idOf(2)}};
}

}  // namespace

TEST_CASE("a cluster in its shape has nothing to move") {
  View v{threeShards()};
  auto r = v.assess(6, 1);
  CHECK(r.known);
  CHECK(r.target_masters == 3);
  CHECK(r.masters_with_slots == 3);
  CHECK(r.slots_to_move == 0);
  CHECK(r.leaving_slots == 0);
}

TEST_CASE("a grown shape counts the new shard's share before its pods have joined") {
  View v{threeShards()};
  auto r = v.assess(8, 1);
  CHECK(r.target_masters == 4);
  CHECK(r.slots_to_move == 4096);  // a quarter of the slots, from the three old masters
  // The same once the new master has joined, empty; and once it owns its share, nothing.
  View joined{threeShards()};
  joined.lines.push_back({6, "master", ""});
  joined.lines.push_back({7, "slave", "", idOf(6)});
  CHECK(joined.assess(8, 1).slots_to_move == 4096);
  View done{{{0, "master", "1365-5460"},
             {1, "master", "6827-10922"},
             {2, "master", "12288-16383"},
             {6, "master", "0-1364 5461-6826 10923-12287"}}};
  CHECK(done.assess(8, 1).slots_to_move == 0);
}

TEST_CASE("a shrunk shape counts the leaving masters' slots") {
  View v{{{0, "master", "1365-5460"},
          {1, "master", "6827-10922"},
          {2, "master", "12288-16383"},
          {6, "master", "0-1364 5461-6826 10923-12287"},
          {7, "slave", "", idOf(3)}}};
  auto r = v.assess(6, 1);
  CHECK(r.target_masters == 3);
  CHECK(r.leaving_slots == 4096);
  CHECK(r.slots_to_move == 4096);
}

TEST_CASE("more replicas: new pods that are still empty masters are not targets") {
  View v{threeShards()};
  v.lines.push_back({6, "master", ""});
  v.lines.push_back({7, "master", ""});
  v.lines.push_back({8, "master", ""});
  CHECK(v.assess(9, 2).slots_to_move == 0);
}

TEST_CASE("a failover moves nothing: the failed master with slots stays a target") {
  View v{threeShards()};
  v.lines[1].flags = "master,fail";
  CHECK(v.assess(6, 1).slots_to_move == 0);
  // After the failover the old master is an empty failed master and its replica owns the slots.
  View after{threeShards()};
  after.lines[1] = {1, "master,fail", ""};
  after.lines[4] = {4, "master", "5461-10922"};
  CHECK(after.assess(6, 1).slots_to_move == 0);
}

TEST_CASE("slots of a master with no known ordinal leave the count unknown") {
  View v{threeShards()};
  v.lines[2].ordinal = -1;
  auto r = v.assess(6, 1);
  CHECK_FALSE(r.known);
  CHECK(r.slots_to_move == 0);
}

TEST_CASE("progress: moved slots, rate and ETA from the first pass with slots to move") {
  ReshapeProgress p;
  auto s = p.update(4096, 1000);
  CHECK(s.at_start == 4096);
  CHECK(s.moved == 0);
  CHECK_FALSE(s.eta_s);
  s = p.update(3072, 11000);  // 1024 slots in 10 s
  CHECK(s.moved == 1024);
  CHECK(s.slots_per_second == doctest::Approx(102.4));
  REQUIRE(s.eta_s);
  CHECK(*s.eta_s == 30);
  s = p.update(0, 21000);  // done: back to nothing
  CHECK(s.at_start == 0);
  CHECK(s.moved == 0);
  // The next scale starts its own clock.
  s = p.update(100, 50000);
  s = p.update(50, 55000);
  CHECK(s.slots_per_second == doctest::Approx(10.0));
}
