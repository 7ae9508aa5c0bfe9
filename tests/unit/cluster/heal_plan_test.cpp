// SPDX-License-Identifier: Apache-2.0
#include "cluster/heal_plan.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include "support/fake_cluster.h"

using namespace agent;
using namespace agent::cluster;
using Kind = HealAction::Kind;

namespace {

// Node ID number i: 40 times the hex digit i.
std::string id(int i) {
  return std::string(40, "0123456789abcdef"[i]);
}

std::string line(int i, const std::string& ip, const std::string& flags, const std::string& master,
                 const std::string& slots, const std::string& link = "connected") {
  return fmt::format("{} {}:6379@16379 {} {} 0 0 1 {} {}\n", id(i), ip, flags, master, link, slots);
}

// The healthy 6-pod layout as pod `me` sees it; `edits` replaces lines by ordinal.
std::string view(int me, std::map<int, std::string> edits = {}) {
  const char* slots[] = {"0-5460", "5461-10922", "10923-16383"};
  std::string out;
  for (int i = 0; i < 6; ++i) {
    if (edits.count(i)) {
      out += edits[i];
      continue;
    }
    std::string flags = std::string(i == me ? "myself," : "") + (i < 3 ? "master" : "slave");
    out +=
        line(i, fmt::format("10.0.0.{}", i), flags, i < 3 ? "-" : id(i - 3), i < 3 ? slots[i] : "");
  }
  return out;
}

Snapshot snap(const std::string& nodes, int64_t keys = 0, int64_t uptime_s = 3600) {
  bool full = nodes.find("myself") != std::string::npos;
  int assigned = 0;
  auto parsed = nodes_conf::parseClusterNodes(nodes);
  REQUIRE(parsed.has_value());
  for (const auto& n : parsed->nodes()) assigned += n.slotCount();
  std::string info = fmt::format("role:{}\r\nslave_repl_offset:100\r\nuptime_in_seconds:{}\r\n",
                                 "master", uptime_s);
  if (keys > 0) info += fmt::format("db0:keys={},expires=0,avg_ttl=0\r\n", keys);
  auto s = snapshotFromText(
      info, fmt::format("cluster_state:ok\r\ncluster_slots_assigned:{}\r\n", assigned),
      full ? nodes : "");
  REQUIRE(s.has_value());
  return *s;
}

struct World {
  std::vector<PeerProbe> pods;
  nodes_conf::OrdinalMap map;
  Snapshot local;
  HealPlan plan(int me, int nodes = 6) {
    return planHealing({me, nodes, 6379, &local, &pods, &map, testing::FakeCluster::kSet, true});
  }
};

// Pod i at `ip` with node `s`, its own agent vouching for it (`fresh`: the node started there
// without an earlier nodes.conf).
PeerProbe probe(int i, const std::string& ip, const Snapshot& s, bool fresh = false) {
  PeerProbe p;
  p.ordinal = i;
  p.name = fmt::format("redis-{}.svc", i);
  p.ip = ip;
  p.node_id = s.myId();
  p.snapshot = s;
  p.agent_asked = true;
  p.agent =
      AgentInfo{i, fmt::format("redis-{}", i), testing::FakeCluster::kSet, s.myId(), fresh, "", ""};
  return p;
}

// Every pod healthy at 10.0.0.i, each with its own view.
World healthy(int me) {
  World w;
  for (int i = 0; i < 6; ++i) {
    w.pods.push_back(probe(i, fmt::format("10.0.0.{}", i), snap(view(i))));
    w.map.set(id(i), i, true);
  }
  w.local = *w.pods[static_cast<size_t>(me)].snapshot;
  return w;
}

std::vector<HealAction> ofKind(const HealPlan& plan, Kind kind) {
  std::vector<HealAction> out;
  for (const auto& a : plan.actions) {
    if (a.kind == kind) out.push_back(a);
  }
  return out;
}

}  // namespace

TEST_CASE("a healthy cluster needs nothing") {
  auto w = healthy(0);
  auto plan = w.plan(0);
  CHECK(plan.actions.empty());
  CHECK(plan.phase == HealPhase::Idle);
}

TEST_CASE("a peer known at an old address or as noaddr is met at its pod's address") {
  auto w = healthy(0);
  w.pods[1].ip = "10.0.1.1";  // pod 1 moved
  w.pods[2].ip = "10.0.1.2";
  w.local = snap(view(0, {{2, line(2, "", "master,noaddr", "-", "10923-16383", "disconnected")}}));
  auto meets = ofKind(w.plan(0), Kind::Meet);
  REQUIRE(meets.size() == 2);
  CHECK(meets[0].args == std::vector<std::string>{"CLUSTER", "MEET", "10.0.1.1", "6379", "16379"});
  CHECK(meets[0].reason.find("known at '10.0.0.1'") != std::string::npos);
  CHECK(meets[1].reason == "known as noaddr");
}

TEST_CASE("an address that answers with another node ID is never met") {
  auto w = healthy(0);
  // Pod 1's name resolves to an address where a different node answers.
  w.pods[1] = probe(1, "10.0.9.9", snap(line(6, "10.0.9.9", "myself,master", "-", "")));
  CHECK(ofKind(w.plan(0), Kind::Meet).empty());
}

TEST_CASE("an empty node joins a formed cluster, but not a cluster still being created") {
  auto w = healthy(0);
  w.local = snap(line(6, "10.0.0.6", "myself,master", "-", ""));
  auto plan = w.plan(6, 7);
  CHECK(plan.phase == HealPhase::Joining);
  CHECK(ofKind(plan, Kind::Meet).size() == 6);

  World fresh;
  for (int i = 0; i < 6; ++i) {
    fresh.pods.push_back(
        probe(i, fmt::format("10.0.0.{}", i), snap(line(i, "", "myself,master", "-", ""))));
  }
  fresh.local = *fresh.pods[3].snapshot;
  CHECK(fresh.plan(3).actions.empty());
}

TEST_CASE("empty nodes in the cluster replicate the masters with the fewest replicas, spread") {
  // Pods 4 and 5 were wiped: they are masters without slots; masters 1 and 2 lost replicas.
  std::map<int, std::string> edits = {{4, line(4, "10.0.0.4", "master", "-", "")},
                                      {5, line(5, "10.0.0.5", "master", "-", "")}};
  auto w = healthy(0);
  auto as = [&](int me) {
    auto e = edits;
    e[me] = line(me, "10.0.0." + std::to_string(me), "myself,master", "-", "");
    w.local = snap(view(me, e));
    auto r = ofKind(w.plan(me), Kind::Replicate);
    REQUIRE(r.size() == 1);
    return r[0].args[2];
  };
  CHECK(as(4) == id(1));
  CHECK(as(5) == id(2));
}

TEST_CASE("a node the creator set up waits for the creator to attach it, for a while") {
  // Pod 4 is a planned replica: the creator gave it config epoch 5 and met it; it sees every
  // slot assigned before the creator sends its REPLICATE.
  auto w = healthy(0);
  auto planned = line(4, "10.0.0.4", "myself,master", "-", "");
  planned.replace(planned.find(" 0 0 1 "), 7, " 0 0 5 ");
  w.local = snap(view(4, {{4, planned}}), 0, 3);
  auto plan = w.plan(4);
  CHECK(ofKind(plan, Kind::Replicate).empty());
  CHECK(plan.phase == HealPhase::Waiting);
  REQUIRE_FALSE(plan.waiting.empty());
  CHECK(plan.waiting.back().find("the creator gave it config epoch 5") != std::string::npos);
  // A creator that stopped half-way: after the grace period the node joins on its own.
  w.local = snap(view(4, {{4, planned}}), 0, kCreatorGraceS);
  CHECK(ofKind(w.plan(4), Kind::Replicate).size() == 1);
  // A wiped pod's node (epoch 0) joins at once, however young.
  auto wiped = line(4, "10.0.0.4", "myself,master", "-", "");
  wiped.replace(wiped.find(" 0 0 1 "), 7, " 0 0 0 ");
  w.local = snap(view(4, {{4, wiped}}), 0, 3);
  CHECK(ofKind(w.plan(4), Kind::Replicate).size() == 1);
}

TEST_CASE("no master is chosen while a failing master's replica should take over") {
  auto w = healthy(0);
  std::map<int, std::string> edits = {
      {1, line(1, "10.0.0.1", "master,fail?", "-", "5461-10922", "disconnected")},
      {5, line(5, "10.0.0.5", "myself,master", "-", "")}};
  w.local = snap(view(5, edits));
  auto plan = w.plan(5);
  CHECK(ofKind(plan, Kind::Replicate).empty());
  CHECK(plan.phase == HealPhase::Waiting);
}

namespace {
// Pod 4 was wiped: it runs node 7 now; node 4 (a replica) is retired and failed everywhere.
World wipedReplica() {
  auto w = healthy(0);
  auto failed = line(4, "10.0.0.4", "slave,fail", id(1), "", "disconnected");
  for (int i = 0; i < 6; ++i) {
    if (i == 4) continue;
    w.pods[static_cast<size_t>(i)] =
        probe(i, fmt::format("10.0.0.{}", i), snap(view(i, {{4, failed}})));
  }
  w.pods[4] = probe(4, "10.0.0.4", snap(line(7, "10.0.0.4", "myself,slave", id(1), "")), true);
  w.map.set(id(7), 4, true);  // retires id(4)
  w.local = *w.pods[0].snapshot;
  return w;
}
}  // namespace

TEST_CASE("a retired, failed, slot-less ID is forgotten on every node that knows it") {
  auto w = wipedReplica();
  auto forgets = ofKind(w.plan(0), Kind::Forget);
  CHECK(forgets.size() == 5);  // pods 0-3 and 5; the new node 7 never knew it
  for (const auto& f : forgets)
    CHECK(f.args == std::vector<std::string>{"CLUSTER", "FORGET", id(4)});
}

TEST_CASE("an ID is not forgotten while anything says it may be alive or needed") {
  SUBCASE("not retired: its pod is just not answering") {
    auto w = wipedReplica();
    w.map = {};
    for (int i = 0; i < 6; ++i) w.map.set(id(i), i, true);  // no history: id(4) not retired
    w.pods[4] = PeerProbe{};
    w.pods[4].ordinal = 4;
    CHECK(ofKind(w.plan(0), Kind::Forget).empty());
  }
  SUBCASE("some node is still connected to it") {
    auto w = wipedReplica();
    w.pods[2] = probe(2, "10.0.0.2", snap(view(2)));
    CHECK(ofKind(w.plan(0), Kind::Forget).empty());
  }
  SUBCASE("it still owns slots: a failed master whose replica needs votes") {
    auto w = healthy(3);
    auto failed = line(0, "10.0.0.0", "master,fail", "-", "0-5460", "disconnected");
    for (int i = 1; i < 6; ++i) {
      w.pods[static_cast<size_t>(i)] =
          probe(i, fmt::format("10.0.0.{}", i), snap(view(i, {{0, failed}})));
    }
    w.pods[0] = probe(0, "10.0.0.0", snap(line(7, "10.0.0.0", "myself,master", "-", "")), true);
    w.map.set(id(7), 0, true);
    w.local = *w.pods[3].snapshot;
    auto plan = w.plan(3);
    CHECK(ofKind(plan, Kind::Forget).empty());
    // ...but its best replica (pod 3) takes the slots over, the data of node 0 being gone.
    auto takeover = ofKind(plan, Kind::FailoverForce);
    REQUIRE(takeover.size() == 1);
    CHECK(takeover[0].args == std::vector<std::string>{"CLUSTER", "FAILOVER", "FORCE"});
  }
}

TEST_CASE("nodes that are no pod of the StatefulSet are reported and kept") {
  auto w = healthy(0);
  w.local = snap(view(0) + line(6, "10.0.0.99", "slave,fail", id(0), "", "disconnected"));
  auto plan = w.plan(0);
  REQUIRE(plan.unexpected.size() == 1);
  CHECK(plan.unexpected[0].find("no pod of this StatefulSet") != std::string::npos);
  CHECK(ofKind(plan, Kind::Forget).empty());
}

// The same decisions on states made by the fake cluster (tests/unit/support/fake_cluster.h).
namespace {

struct Sim {
  testing::FakeCluster fake = testing::FakeCluster::formed(6, 1);
  nodes_conf::OrdinalMap map;
  std::vector<PeerProbe> pods;
  Snapshot local;

  // Pod `ordinal` lost its data and runs node 10 now; the agents knew its old ID.
  void wipe(int ordinal) {
    for (int i = 0; i < 6; ++i) map.set(testing::simId(i), i, true);
    fake.wipe(ordinal, testing::simId(10));
    fake.pods[static_cast<size_t>(ordinal)].node_fresh = true;
    map.set(testing::simId(10), ordinal, true);
  }
  HealPlan plan(int me) {
    pods = fake.probe({{}, Pods::Depth::Snapshot, true, -1});
    local = fake.snapshotOf(me);
    return planHealing({me, 6, 6379, &local, &pods, &map, testing::FakeCluster::kSet, true});
  }
};

bool waitsFor(const HealPlan& plan, const std::string& why) {
  for (const auto& w : plan.waiting) {
    if (w.find(why) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("each reason not to forget a gone ID is reported, and nothing is forgotten") {
  Sim s;
  std::string gone = testing::simId(1);
  SUBCASE("it still owns slots (its replica must take over first)") {
    s.wipe(1);
    s.fake.pods[4].answers = false;  // the replica's pod is down: no takeover either
    auto plan = s.plan(0);
    CHECK(ofKind(plan, Kind::Forget).empty());
    CHECK(waitsFor(plan,
                   "stale node 11111111 cannot be forgotten yet: redis-0 sees it still "
                   "owning slots"));
  }
  SUBCASE("some node is still connected to it") {
    s.wipe(4);
    s.fake.seen(testing::simId(2), testing::simId(4)) = {};  // pod 2 still has a link
    auto plan = s.plan(0);
    CHECK(ofKind(plan, Kind::Forget).empty());
    CHECK(waitsFor(plan, "cannot be forgotten yet: redis-2 is still connected to it"));
  }
  SUBCASE("some node sees a replica of it") {
    s.wipe(1);
    s.fake.node(gone).slots.clear();  // its slots went elsewhere, its replica still follows it
    s.fake.pods[4].answers = false;
    auto plan = s.plan(0);
    CHECK(ofKind(plan, Kind::Forget).empty());
    CHECK(waitsFor(plan, "cannot be forgotten yet: redis-0 sees a replica of it"));
    CHECK(plan.phase == HealPhase::Waiting);
  }
  SUBCASE("it is not retired: its pod may come back with it") {
    s.fake.seen(testing::simId(0), testing::simId(4)) = {std::nullopt, "fail", false};
    s.fake.pods[4].answers = false;
    for (int i = 0; i < 6; ++i) s.map.set(testing::simId(i), i, true);
    auto plan = s.plan(0);
    CHECK(ofKind(plan, Kind::Forget).empty());
    CHECK(plan.waiting.empty());
  }
}

TEST_CASE("an empty node joining picks the master with the fewest replicas, by every view") {
  Sim s;
  s.fake.wipe(5, testing::simId(10));  // master 2 lost its replica
  s.fake.meshAll();                    // node 10 has met the cluster
  for (int viewer : {0, 1, 2, 3, 4, 10}) {
    s.fake.seen(testing::simId(viewer), testing::simId(5)).flags = "fail";
  }
  auto r = ofKind(s.plan(5), Kind::Replicate);
  REQUIRE(r.size() == 1);
  CHECK(r[0].args == std::vector<std::string>{"CLUSTER", "REPLICATE", testing::simId(2)});
  CHECK(r[0].target == kLocal);
}

namespace {

// The formed 6-pod cluster (1 replica) with pods 6.. added: fresh, empty, met by every node,
// and the shape grown to `pods` pods with `replicas` replicas per master.
struct Grown {
  testing::FakeCluster fake = testing::FakeCluster::formed(6, 1);
  nodes_conf::OrdinalMap map;
  std::vector<PeerProbe> pods;
  Snapshot local;
  int nodes;
  int replicas;

  Grown(int n, int r) : nodes(n), replicas(r) {
    auto more = testing::FakeCluster::fresh(n);
    for (int i = 6; i < n; ++i) {
      fake.nodes.push_back(more.nodes[static_cast<size_t>(i)]);
      fake.pods.push_back(more.pods[static_cast<size_t>(i)]);
    }
    fake.meshAll();
    for (int i = 0; i < n; ++i) map.set(testing::simId(i), i, true);
  }
  // Pod i runs on Kubernetes node `k8s`.
  void place(int i, const std::string& k8s) {
    auto a = fake.agentFor(i);
    a.k8s_node = k8s;
    fake.pods[static_cast<size_t>(i)].agent_override = a;
  }
  // What pod `me` does: "" = stays as it is, else the ordinal of the master it follows.
  std::string decide(int me) {
    pods = fake.probe({{}, Pods::Depth::Snapshot, true, -1});
    local = fake.snapshotOf(me);
    auto plan = planHealing(
        {me, nodes, 6379, &local, &pods, &map, testing::FakeCluster::kSet, true, replicas});
    auto r = ofKind(plan, Kind::Replicate);
    if (r.empty()) return "";
    REQUIRE(r.size() == 1);
    for (int i = 0; i < nodes; ++i) {
      if (r[0].args[2] == testing::simId(i)) return std::to_string(i);
    }
    return "?";
  }
};

}  // namespace

TEST_CASE("scaled out by whole shards: the new pods form a new shard, master and replica") {
  Grown g(8, 1);
  CHECK(g.decide(6) == "");   // stays master of the fourth shard
  CHECK(g.decide(7) == "6");  // its replica, not a replica of an old master
  // Whichever pod acts first, the other agrees: 6 stays master once 7 follows it.
  g.fake.nodeOf(7).master = false;
  g.fake.nodeOf(7).master_id = testing::simId(6);
  CHECK(g.decide(6) == "");
}

TEST_CASE("a new shard's master is chosen like at creation: its replica off its Kubernetes node") {
  Grown g(8, 1);
  for (int i = 0; i < 6; ++i) g.place(i, fmt::format("k{}", i % 3));  // masters on k0, k1, k2
  g.place(6, "k0");                                                   // beside master 0
  g.place(7, "k3");                                                   // a node with no master
  CHECK(g.decide(7) == "");   // the master goes where no master runs
  CHECK(g.decide(6) == "7");  // and 6 follows it from another node
}

TEST_CASE("only the first new pod so far: it stays master, and is not taken for a replica") {
  Grown g(7, 1);
  g.nodes = 8;  // the shape says 8; pod 7 has not started yet
  CHECK(g.decide(6) == "");
}

TEST_CASE("scaled out by replicas (1 -> 2): every new pod becomes a replica, spread") {
  Grown g(9, 2);
  CHECK(g.decide(6) == "0");
  CHECK(g.decide(7) == "1");
  CHECK(g.decide(8) == "2");
}

TEST_CASE("without a known shape every empty node becomes a replica, as before") {
  Grown g(8, -1);
  CHECK(g.decide(6) == "0");
  CHECK(g.decide(7) == "1");
}

TEST_CASE("a pod beyond the shape is never made the master of a new shard") {
  Grown g(8, 1);
  g.nodes = 6;  // the shape says 6 pods again (scale-in), pods 6 and 7 still run
  CHECK(g.decide(6) == "0");
  CHECK(g.decide(7) == "1");
}
