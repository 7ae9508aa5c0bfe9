// SPDX-License-Identifier: Apache-2.0
// The layout planner on views rendered by the fake cluster: where each shard's master should
// be, why, and in which order the moves come.
#include "layout/plan.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/fake_cluster.h"

using namespace agent;
using namespace agent::layout;
using agent::testing::FakeCluster;
using agent::testing::simId;

namespace {

// Pod i runs on nodes[i] in zones[i] (zones may be shorter: no zone).
struct Cluster {
  FakeCluster fake = FakeCluster::formed(6, 1);  // masters 0-2; 3->0, 4->1, 5->2
  std::vector<std::string> nodes = {"n0", "n1", "n2", "n3", "n4", "n5"};
  std::vector<std::string> zones;
  Target target = Target::Ordinals;
  int viewer = 0;

  Plan run() {
    auto snap = fake.snapshotOf(viewer);
    Input in;
    in.view = &*snap.nodes;
    for (size_t i = 0; i < fake.pods.size(); ++i) {
      Place p{static_cast<int>(i),
              fmt::format("redis-{}", i),
              {nodes[i], i < zones.size() ? zones[i] : ""}};
      in.places[fake.pods[i].node_id] = p;
    }
    in.preferred_masters = creatorMasters(6, 1, in.places);
    in.target = target;
    return plan(in);
  }
};

const Shard& shardOf(const Plan& p, const std::string& slots) {
  for (const auto& s : p.shards) {
    if (s.slots == slots) return s;
  }
  FAIL("no shard " << slots);
  return p.shards.front();
}

}  // namespace

TEST_CASE("the layout the creator made needs no move") {
  Cluster c;
  auto p = c.run();
  REQUIRE(p.shards.size() == 3);
  CHECK(p.shards[0].slots == "0-5460");
  CHECK(p.shards[0].members.size() == 2);
  CHECK(p.moves.empty());
  CHECK(p.offShards() == 0);
  CHECK(p.unknown.empty());
  CHECK(p.now.per_node == std::map<std::string, int>{{"n0", 1}, {"n1", 1}, {"n2", 1}});
  CHECK(p.now.node_pairs == 0);
}

TEST_CASE("after a failover the creator's ordinal gets its shard back, if ordinals are wanted") {
  Cluster c;
  c.fake.promote(3);  // redis-3 takes 0-5460 from redis-0
  auto p = c.run();
  REQUIRE(p.moves.size() == 1);
  CHECK(p.moves[0].from == simId(3));
  CHECK(p.moves[0].to == simId(0));
  CHECK(p.moves[0].to_name == "redis-0");
  const Shard& s = shardOf(p, "0-5460");
  CHECK(s.off());
  CHECK(s.master().name == "redis-3");
  CHECK(s.reason == "the creator chose redis-0 as a master and moving back costs no spread");
  CHECK(p.offShards() == 1);

  c.target = Target::Spread;  // nothing shares a node: no reason to move
  CHECK(c.run().moves.empty());
}

TEST_CASE("two masters on one Kubernetes node: one shard moves to a free node") {
  Cluster c;
  c.nodes = {"n0", "n1", "n2", "n1", "n0", "n2"};  // replicas: 3 on n1, 4 on n0, 5 on n2
  c.fake.promote(4);                               // redis-4 (n0) takes 5461-10922
  c.target = Target::Spread;
  auto p = c.run();
  CHECK(p.now.per_node.at("n0") == 2);
  CHECK(p.now.node_pairs == 1);
  CHECK(p.best.node_pairs == 0);
  REQUIRE(p.moves.size() == 1);
  // Moving either shard needs one failover; ties keep the lowest slots where they are.
  CHECK(p.moves[0].to == simId(1));
  CHECK(shardOf(p, "5461-10922").reason ==
        "master redis-4 shares Kubernetes node n0 with master redis-0; redis-1 runs on n1");
}

TEST_CASE("zones come before nodes, and masters leave a shared zone") {
  Cluster c;
  c.zones = {"a", "b", "c", "b", "c", "a"};
  c.fake.promote(3);  // redis-3 (zone b) takes 0-5460: zone b has two masters
  c.target = Target::Spread;
  auto p = c.run();
  CHECK(p.now.per_zone == std::map<std::string, int>{{"b", 2}, {"c", 1}});
  CHECK(p.now.zone_pairs == 1);
  CHECK(p.best.zone_pairs == 0);
  REQUIRE(p.moves.size() == 1);
  CHECK(p.moves[0].to == simId(0));
  CHECK(shardOf(p, "0-5460").reason.find("shares zone b with master redis-1") != std::string::npos);
}

TEST_CASE("with two replicas the master goes to the member outside the others' zone") {
  FakeCluster fake = FakeCluster::formed(9, 2);  // 3,6 -> 0; 4,7 -> 1; 5,8 -> 2
  auto snap = fake.snapshotOf(0);
  Input in;
  in.view = &*snap.nodes;
  in.target = Target::Spread;
  for (int i = 0; i < 9; ++i) {
    // Shard of redis-0: 0 and 3 in zone a, 6 in zone b; the other shards spread evenly.
    std::string zone = i == 0 || i == 3 ? "a" : (i == 6 ? "b" : fmt::format("z{}", i % 3));
    in.places[simId(i)] = {i, fmt::format("redis-{}", i), {fmt::format("n{}", i), zone}};
  }
  auto p = plan(in);
  REQUIRE(p.moves.size() == 1);
  CHECK(p.moves[0].to == simId(6));
  CHECK(shardOf(p, "0-5460").reason == "replica redis-3 is in zone a with its master redis-0");
}

TEST_CASE("a member that is failing, disconnected or not placed is never chosen") {
  Cluster c;
  c.nodes = {"n0", "n1", "n2", "n1", "n0", "n2"};
  c.fake.promote(4);
  c.target = Target::Spread;
  c.fake.seen(simId(0), simId(1)).flags = "fail?";
  auto p = c.run();
  // redis-1 is out; the other way round works: redis-0's shard moves to redis-3 (n1).
  REQUIRE(p.moves.size() == 1);
  CHECK(p.moves[0].to == simId(3));
  c.fake.seen(simId(0), simId(3)).connected = false;
  CHECK(c.run().moves.empty());
  CHECK(c.run().best.node_pairs == 1);

  // Without a placement a member is reported and never a target.
  Cluster u;
  u.fake.promote(3);
  u.nodes[0] = "n0";
  auto snap = u.fake.snapshotOf(0);
  Input in;
  in.view = &*snap.nodes;
  for (int i = 1; i < 6; ++i) in.places[simId(i)] = {i, fmt::format("redis-{}", i), {"n", ""}};
  auto q = plan(in);
  CHECK(q.unknown == std::vector<std::string>{"00000000"});
  CHECK(q.moves.empty());
}

TEST_CASE("a chain of moves: each step is planned again from where it left") {
  // redis-0's shard cannot leave n0 (its replica is there too); redis-4 must leave n0 for n1,
  // which redis-2 holds and can leave for n2.
  Cluster c;
  c.fake = FakeCluster::formed(6, 1);
  c.nodes = {"n0", "n1", "n1", "n0", "n0", "n2"};
  c.fake.promote(4);  // masters: redis-0 (n0), redis-4 (n0), redis-2 (n1)
  c.target = Target::Spread;
  auto p = c.run();
  CHECK(p.now.node_pairs == 1);
  CHECK(p.best.node_pairs == 0);
  REQUIRE(p.moves.size() == 2);
  // Equal steps (each leaves one pair): the lower slots first.
  CHECK(p.moves[0].to == simId(1));
  CHECK(p.moves[1].to == simId(5));
  c.fake.promote(1);
  auto next = c.run();
  REQUIRE(next.moves.size() == 1);
  CHECK(next.moves[0].to == simId(5));
  c.fake.promote(5);
  CHECK(c.run().moves.empty());
  CHECK(c.run().now.node_pairs == 0);
}

TEST_CASE("off still plans, for the metrics; the creator's masters follow the placements") {
  Cluster c;
  c.fake.promote(3);
  c.target = Target::Off;
  CHECK(c.run().moves.empty());  // spread only: nothing shares
  std::map<std::string, Place> places;
  for (int i = 0; i < 6; ++i) {
    places[simId(i)] = {i, "", {i % 2 == 0 ? "even" : "odd", ""}};
  }
  CHECK(creatorMasters(6, 1, places) == std::vector<int>{0, 1, 2});
  places[simId(1)].where.k8s_node = "even";
  CHECK(creatorMasters(6, 1, places) == std::vector<int>{0, 3, 1});
  CHECK(std::string(targetName(Target::Spread)) == "spread");
}
