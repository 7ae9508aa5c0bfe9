// SPDX-License-Identifier: Apache-2.0
// Slots stranded by a scale-in done before draining: found, described, and left alone by the
// healer (no FORGET, FAILOVER, SETSLOT or ADDSLOTS in any pass).
#include "cluster/stranded.h"

#include <doctest/doctest.h>

#include <map>

#include "cluster/healer.h"
#include "support/fake_clock.h"
#include "support/fake_cluster.h"

using namespace agent;
using namespace agent::cluster;
using agent::testing::FakeClock;
using agent::testing::FakeCluster;
using agent::testing::simId;
using agent::testing::SimNode;

namespace {

constexpr const char* kTemplate = "redis-{ordinal}.redis-headless.default.svc.cluster.local";

// 8 pods, 4 shards; the fourth shard (slots 12288-16383) is pod 6 (master) + pod 7 (replica),
// as after a scale-out from 6 to 8. Pod 3 replicates pod 2 instead of pod 6.
FakeCluster eightPods() {
  FakeCluster f = FakeCluster::formed(8, 1);
  SimNode& m = f.nodeOf(6);
  m.master = true;
  m.master_id.clear();
  m.slots = f.nodeOf(3).slots;
  SimNode& old = f.nodeOf(3);
  old.slots.clear();
  old.master = false;
  old.master_id = simId(2);
  f.nodeOf(7).master_id = simId(6);
  return f;
}

// Pods `ordinals` are deleted: their names stop resolving, and every other node flags their
// nodes `flags` and has no link to them.
void remove(FakeCluster& f, std::initializer_list<int> ordinals, const char* flags = "fail") {
  for (int o : ordinals) {
    auto& pod = f.pods[static_cast<size_t>(o)];
    pod.resolves = false;
    pod.answers = false;
    for (int viewer = 0; viewer < static_cast<int>(f.pods.size()); ++viewer) {
      if (viewer != o) f.seen(simId(viewer), pod.node_id) = {std::nullopt, flags, false};
    }
  }
}

struct Fixture {
  explicit Fixture(FakeCluster initial) : fake(std::move(initial)) {
    for (int i = 0; i < static_cast<int>(fake.pods.size()); ++i) {
      map.set(fake.pods[static_cast<size_t>(i)].node_id, i, true);
    }
  }
  // The StatefulSet now has `n` pods (the ones beyond are gone from it).
  void shrink(int n) {
    fake.pods.resize(static_cast<size_t>(n));
    nodes = n;
  }
  std::vector<Stranded> find(int viewer = 0) {
    fake.local = viewer;
    fake.probe({{}, Pods::Depth::Snapshot, true, 300});
    auto snap = fake.snapshotOf(viewer);
    view = snap.nodes;
    return findStranded({view.get(), &fake.last(), &map, nodes, kTemplate});
  }

  FakeCluster fake;
  int nodes = 8;
  nodes_conf::OrdinalMap map;
  std::shared_ptr<const nodes_conf::NodesConf> view;
};

}  // namespace

TEST_CASE("a healthy cluster strands nothing") {
  Fixture f(eightPods());
  CHECK(f.find().empty());
}

TEST_CASE("a shard whose pods were deleted before draining: its slots are stranded") {
  Fixture f(eightPods());
  remove(f.fake, {6, 7});
  auto found = f.find();
  REQUIRE(found.size() == 1);
  const auto& s = found[0];
  CHECK(s.node_id == simId(6));
  CHECK(s.ordinal == 6);
  CHECK(s.pod == "redis-6");
  CHECK(s.slotCount() == 4096);
  CHECK(s.scale_to == 8);
  CHECK(s.gone.find("no longer resolves") != std::string::npos);
  CHECK(strandedSlots(found) == 4096);
  std::string line = describeStranded(s);
  CHECK(line.find("4096 slots (12288-16383)") != std::string::npos);
  CHECK(line.find("redis-6") != std::string::npos);
  CHECK(line.find("scale the StatefulSet back to 8 replicas") != std::string::npos);
  CHECK(line.find("PVCs are retained") != std::string::npos);
  // Every remaining pod sees the same.
  for (int viewer = 1; viewer < 6; ++viewer) CHECK(f.find(viewer).size() == 1);
}

TEST_CASE("fail? is enough: Redis has noticed, and no replica is left to be elected") {
  Fixture f(eightPods());
  remove(f.fake, {6, 7}, "fail?");
  CHECK(f.find().size() == 1);
}

TEST_CASE("ordinals beyond --cluster-nodes are gone, with the count that brings them back") {
  Fixture f(eightPods());
  remove(f.fake, {6, 7});
  f.shrink(6);
  auto found = f.find();
  REQUIRE(found.size() == 1);
  CHECK(found[0].pod == "redis-6");
  CHECK(found[0].gone.find("beyond --cluster-nodes 6") != std::string::npos);
  // Its replica ran in pod 7: scaling back to 7 would not bring the whole shard back.
  CHECK(found[0].scale_to == 8);
}

TEST_CASE("not stranded: a replica can take over, or the pod is only restarting") {
  SUBCASE("the master's pod is gone but its replica works: Redis fails over by itself") {
    Fixture f(eightPods());
    remove(f.fake, {6});
    CHECK(f.find().empty());
  }
  SUBCASE("both pods are down but their names resolve: restarting, not gone") {
    Fixture f(eightPods());
    remove(f.fake, {6, 7});
    f.fake.pods[6].resolves = true;
    CHECK(f.find().empty());
  }
  SUBCASE("the pods are gone but Redis has not flagged the master yet") {
    Fixture f(eightPods());
    remove(f.fake, {6, 7}, "");
    CHECK(f.find().empty());
  }
}

TEST_CASE("a failed master no pod is known to have run is reported without a pod name") {
  Fixture f(eightPods());
  remove(f.fake, {6, 7});
  f.map = {};
  for (int i = 0; i < 6; ++i) f.map.set(simId(i), i, true);
  auto found = f.find();
  REQUIRE(found.size() == 1);
  CHECK(found[0].ordinal == -1);
  CHECK(found[0].pod.empty());
  CHECK(describeStranded(found[0]).find("bring back the pod that ran it") != std::string::npos);
}

TEST_CASE("the healer sends nothing destructive while slots are stranded, on any pod") {
  for (int nodes : {8, 6}) {
    for (int me = 0; me < 6; ++me) {
      CAPTURE(nodes);
      CAPTURE(me);
      Fixture f(eightPods());
      remove(f.fake, {6, 7});
      if (nodes == 6) f.shrink(6);
      FakeClock clock;
      Activity activity;
      Healer healer({me, nodes, 6379, 3000, FakeCluster::kSet}, f.fake, activity, clock);
      f.fake.local = me;
      for (int pass = 0; pass < 20; ++pass) {
        f.fake.probe({{}, Pods::Depth::Snapshot, true, 300});
        healer.step(f.fake.snapshotOf(me), f.map, true);
        clock.advance(1000);
      }
      for (const char* cmd :
           {"CLUSTER FORGET", "CLUSTER FAILOVER", "CLUSTER SETSLOT", "CLUSTER ADDSLOTS",
            "CLUSTER DELSLOTS", "CLUSTER RESET", "CLUSTER REPLICATE", "FLUSHALL"}) {
        CAPTURE(cmd);
        CHECK(f.fake.count(cmd) == 0);
      }
    }
  }
}

namespace {

// The view of pod `viewer` and the ordinals whose agents answer, as the scale verb has them.
struct AgentsView {
  std::shared_ptr<const nodes_conf::NodesConf> view;
  std::map<std::string, int> vouched;
};

AgentsView agentsView(Fixture& f, std::initializer_list<int> answering, int viewer = 0) {
  f.find(viewer);
  AgentsView out{f.view, {}};
  for (int o : answering) out.vouched[simId(o)] = o;
  return out;
}

}  // namespace

TEST_CASE("the scale verb's view: pods deleted before draining strand their slots") {
  Fixture f(eightPods());
  remove(f.fake, {6, 7});
  auto a = agentsView(f, {0, 1, 2, 3, 4, 5});
  auto found = findStrandedByAgents(*a.view, a.vouched, kTemplate, &f.map);
  REQUIRE(found.size() == 1);
  CHECK(found[0].pod == "redis-6");
  CHECK(found[0].scale_to == 8);
  CHECK(describeStranded(found[0]).find("scale the StatefulSet back to 8 replicas") !=
        std::string::npos);
  SUBCASE("without an ordinal map it still refuses, without naming the pod") {
    auto blind = findStrandedByAgents(*a.view, a.vouched, kTemplate, nullptr);
    REQUIRE(blind.size() == 1);
    CHECK(blind[0].pod.empty());
    CHECK(describeStranded(blind[0]).find("bring back the pod that ran it") != std::string::npos);
  }
}

TEST_CASE("the scale verb's view: a shard whose pods only restart is not stranded") {
  Fixture f(eightPods());
  remove(f.fake, {1, 5}, "fail");  // pod 1 (a master) and pod 5 (its replica) are down
  auto a = agentsView(f, {0, 2, 3, 4, 6, 7});
  CHECK(findStrandedByAgents(*a.view, a.vouched, kTemplate, &f.map).empty());
  // No agent answers: nothing is known of the StatefulSet, so nothing is called gone.
  CHECK(findStrandedByAgents(*a.view, {}, kTemplate, &f.map).empty());
}
