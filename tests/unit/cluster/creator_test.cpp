// SPDX-License-Identifier: Apache-2.0
// The creator through the seam: a fake StatefulSet of empty nodes that answers like Redis, a
// clock that moves only when the test says so.
#include "cluster/creator.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "statefile/statefile.h"
#include "support/fake_clock.h"
#include "support/fake_cluster.h"
#include "support/fixtures.h"

using namespace agent;
using namespace agent::cluster;
using agent::testing::FakeClock;
using agent::testing::FakeCluster;
using agent::testing::simId;

namespace {

// Six pods on six Kubernetes nodes, so the plan is the default one: 3->0, 4->1, 5->2.
std::optional<Placement> k8sNode(const PeerProbe& p) {
  return Placement{fmt::format("node-{}", p.ordinal), ""};
}

struct Fixture {
  explicit Fixture(FakeCluster initial, PlacementLookup lookup = k8sNode)
      : fake(std::move(initial)),
        boost(statefile::pathBeside(dir.file("nodes.conf"), statefile::kTimeoutBoost), fake,
              activity, clock),
        creator({6, 1, "node-0", "", "", FakeCluster::kSet, 0}, fake, boost, std::move(lookup),
                activity, clock) {}

  // One pass; returns the commands it sent.
  std::vector<std::string> step() {
    fake.sent.clear();
    last_wait = creator.step();
    return fake.sentTexts();
  }

  testing::TempDir dir;
  FakeClock clock;
  Activity activity;
  FakeCluster fake;
  TimeoutBoost boost;
  Creator creator;
  int64_t last_wait = 0;
};

std::vector<PeerProbe> probed(FakeCluster& fake) {
  return fake.probeAll(Pods::Depth::Snapshot);
}

Assessment assess6(FakeCluster& fake) {
  return assessForCreation(probed(fake), planCreation(6, 1, {}));
}

bool mentions(const std::vector<std::string>& reasons, const std::string& what) {
  for (const auto& r : reasons) {
    if (r.find(what) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("assessment: empty nodes match the plan, nothing attached yet") {
  auto fake = FakeCluster::fresh(6);
  auto a = assess6(fake);
  CHECK(a.consistent);
  CHECK_FALSE(a.cluster_exists);
  CHECK(a.reasons.empty());
  CHECK(a.attached.empty());
}

TEST_CASE("assessment: a node with keys, or a planned replica with slots, blocks creation") {
  auto fake = FakeCluster::fresh(6);
  fake.nodeOf(4).keys = 7;
  auto a = assess6(fake);
  CHECK_FALSE(a.consistent);
  CHECK(mentions(a.reasons, "redis-4 holds 7 key(s); creation needs empty nodes"));

  fake = FakeCluster::fresh(6);
  fake.nodeOf(5).slots = {{0, 10}};
  a = assess6(fake);
  CHECK_FALSE(a.consistent);
  CHECK(mentions(a.reasons, "redis-5 owns slots 0-10, the plan gives it none"));

  fake = FakeCluster::fresh(6);
  fake.nodeOf(1).slots = {{0, 5460}};  // another master's range
  CHECK(mentions(assess6(fake).reasons, "redis-1 owns slots 0-5460, the plan gives it 5461-10922"));
}

TEST_CASE("assessment: keys in a planned master's own slots are the plan's, not a blocker") {
  auto fake = FakeCluster::fresh(6);
  fake.nodeOf(0).slots = {{0, 5460}};
  fake.nodeOf(0).keys = 3;  // a client wrote after an earlier attempt assigned the slots
  CHECK(assess6(fake).consistent);
}

TEST_CASE("assessment: a node that knows a node of no pod blocks creation") {
  auto fake = FakeCluster::fresh(6);
  testing::SimNode stranger;
  stranger.id = simId(9);
  stranger.ip = "10.9.9.9";
  fake.nodes.push_back(stranger);
  fake.nodeOf(2).knows[stranger.id] = {};
  auto a = assess6(fake);
  CHECK_FALSE(a.consistent);
  CHECK(mentions(a.reasons,
                 "redis-2 knows node 99999999 at 10.9.9.9:6379, which is none of the pods"));
}

TEST_CASE("assessment: an attempt cut short is recognised and its replicas kept") {
  auto fake = FakeCluster::formed(6, 1);
  fake.nodeOf(5).master = true;  // pod 5 was not attached yet
  fake.nodeOf(5).master_id.clear();
  auto a = assess6(fake);
  CHECK(a.consistent);
  CHECK(a.cluster_exists);
  CHECK(a.attached == std::map<int, int>{{3, 0}, {4, 1}});
}

TEST_CASE("assessment: a formed cluster of another layout exists and is not ours to touch") {
  auto fake = FakeCluster::formed(6, 1);
  auto a = assess6(fake);
  CHECK(a.consistent);  // formed as planned
  CHECK(a.cluster_exists);
  // Replica 3 follows master 1 instead of 0: another layout.
  fake.nodeOf(3).master_id = simId(1);
  fake.nodeOf(4).master_id = simId(0);
  CHECK(assess6(fake).attached == std::map<int, int>{{3, 1}, {4, 0}, {5, 2}});
  // One where a planned master is a replica now (after a failover) is not.
  fake.nodeOf(3).master_id = simId(0);
  fake.promote(3);
  auto other = assess6(fake);
  CHECK_FALSE(other.consistent);
  CHECK(other.cluster_exists);
  CHECK(mentions(other.reasons, "redis-0 is a replica, but the plan makes it a master"));
}

TEST_CASE("the creator forms the planned cluster from empty nodes, one step per pass") {
  Fixture f(FakeCluster::fresh(6));
  // Pass 1: node-timeout shortened on the masters (recorded first), then their slots.
  auto sent = f.step();
  CHECK(f.creator.phase() == CreatePhase::Creating);
  CHECK(sent == std::vector<std::string>{
                    "0 CONFIG GET cluster-node-timeout", "1 CONFIG GET cluster-node-timeout",
                    "2 CONFIG GET cluster-node-timeout", "0 CONFIG SET cluster-node-timeout 1000",
                    "1 CONFIG SET cluster-node-timeout 1000",
                    "2 CONFIG SET cluster-node-timeout 1000", "0 CLUSTER ADDSLOTSRANGE 0 5460",
                    "1 CLUSTER ADDSLOTSRANGE 5461 10922", "2 CLUSTER ADDSLOTSRANGE 10923 16383"});
  CHECK(f.last_wait == 20);
  // Pass 2: distinct config epochs, while every node still knows only itself.
  sent = f.step();
  REQUIRE(sent.size() == 6);
  for (int i = 0; i < 6; ++i) {
    CHECK(sent[static_cast<size_t>(i)] == fmt::format("{} CLUSTER SET-CONFIG-EPOCH {}", i, i + 1));
  }
  // Pass 3: a full mesh of MEETs, each with the peer's announced ports.
  sent = f.step();
  CHECK(sent.size() == 30);
  CHECK(f.fake.count(0, "CLUSTER MEET 10.0.0.5 6379 16379") == 1);
  CHECK(f.fake.count(5, "CLUSTER MEET 10.0.0.0 6379 16379") == 1);
  // Pass 4: the planned replicas, each announcing its role to the five other pods.
  sent = f.step();
  CHECK(f.fake.count("CLUSTER REPLICATE") == 3);
  CHECK(f.fake.count(3, "CLUSTER REPLICATE " + simId(0)) == 1);
  CHECK(f.fake.count(4, "CLUSTER REPLICATE " + simId(1)) == 1);
  CHECK(f.fake.count(5, "CLUSTER REPLICATE " + simId(2)) == 1);
  CHECK(f.fake.count(3, "CLUSTER MEET") == 5);
  CHECK(sent.size() == 3 + 15);
  // Pass 5: healthy; done, and nothing more is ever sent.
  sent = f.step();
  CHECK(sent.empty());
  CHECK(f.creator.phase() == CreatePhase::Done);
  CHECK(f.activity.actions.get(Action::Creation) == 1);
  CHECK(f.activity.actions.get(Action::Meet) == 30 + 15);
  CHECK(f.activity.errors.get(ErrorKind::CommandFailed) == 0);
  CHECK(f.step().empty());
  CHECK(f.last_wait == 2000);
}

TEST_CASE("a creation cut short is finished without repeating what was done") {
  auto fake = FakeCluster::fresh(6);
  auto ranges = slotRanges(3);
  for (int m = 0; m < 3; ++m) fake.nodeOf(m).slots = {ranges[static_cast<size_t>(m)]};
  for (int i = 0; i < 6; ++i) fake.nodeOf(i).epoch = static_cast<uint64_t>(i + 1);
  Fixture f(std::move(fake));
  auto sent = f.step();
  // No node-timeout change (the slots are assigned: an earlier attempt did or skipped it), no
  // slots, no epochs: the MEETs are next.
  CHECK(f.fake.count("CONFIG") == 0);
  CHECK(f.fake.count("CLUSTER ADDSLOTSRANGE") == 0);
  CHECK(f.fake.count("CLUSTER SET-CONFIG-EPOCH") == 0);
  CHECK(sent.size() == 30);
  f.step();
  f.step();
  CHECK(f.creator.phase() == CreatePhase::Done);
}

TEST_CASE("replicas attached by an earlier attempt stay with their masters") {
  auto fake = FakeCluster::formed(6, 1);
  fake.nodeOf(5).master = true;
  fake.nodeOf(5).master_id.clear();
  Fixture f(std::move(fake));
  auto sent = f.step();
  CHECK(f.fake.count("CLUSTER REPLICATE") == 1);
  CHECK(f.fake.count(5, "CLUSTER REPLICATE " + simId(2)) == 1);
  f.step();
  CHECK(f.creator.phase() == CreatePhase::Done);
  CHECK(f.activity.actions.get(Action::Creation) == 1);
}

TEST_CASE("a failed REPLICATE is counted, announces nothing, and is tried again") {
  Fixture f(FakeCluster::fresh(6));
  for (int i = 0; i < 3; ++i) f.step();  // slots, epochs, meets
  f.fake.script(4, "CLUSTER REPLICATE", fail(Errc::Server, "ERR boom"), 1);
  f.step();
  CHECK(f.fake.count(4, "CLUSTER REPLICATE") == 1);
  CHECK(f.fake.count(4, "CLUSTER MEET") == 0);
  CHECK(f.activity.errors.get(ErrorKind::CommandFailed) == 1);
  f.step();
  CHECK(f.fake.count(4, "CLUSTER REPLICATE") == 1);
  CHECK(f.fake.count(4, "CLUSTER MEET") == 5);
  f.step();
  CHECK(f.creator.phase() == CreatePhase::Done);
}

TEST_CASE("waiting for peers: nothing is sent, and the wait backs off to 2 s") {
  Fixture f(FakeCluster::fresh(6));
  f.fake.pods[4].answers = false;
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) {
    CHECK(f.step().empty());
    waits.push_back(f.last_wait);
  }
  CHECK(f.creator.phase() == CreatePhase::WaitingForPeers);
  CHECK(waits == std::vector<int64_t>{200, 400, 800, 1600, 2000, 2000});
  f.fake.pods[4].answers = true;
  CHECK_FALSE(f.step().empty());
  CHECK(f.creator.phase() == CreatePhase::Creating);
}

TEST_CASE("waiting for the agents' Kubernetes node names, at most 5 s after all answer") {
  // No agent answers /peerinfo (nullopt): their names may still come.
  Fixture f(FakeCluster::fresh(6), [](const PeerProbe&) { return std::optional<Placement>(); });
  CHECK(f.step().empty());
  CHECK(f.creator.phase() == CreatePhase::WaitingForPeers);
  CHECK(f.last_wait == 100);
  f.clock.advance(4900);
  CHECK(f.step().empty());
  f.clock.advance(100);
  CHECK_FALSE(f.step().empty());
  CHECK(f.creator.phase() == CreatePhase::Creating);
}

TEST_CASE("every agent answered without a Kubernetes node name: creation goes on at once") {
  // Plain manifests without the downward API: "" is an answer, and no name will ever come.
  Fixture f(FakeCluster::fresh(6),
            [](const PeerProbe&) { return std::optional<Placement>(Placement{}); });
  CHECK_FALSE(f.step().empty());
  CHECK(f.creator.phase() == CreatePhase::Creating);
}

TEST_CASE("blocked: a node with data is never touched, and creation does not start") {
  auto fake = FakeCluster::fresh(6);
  fake.nodeOf(3).keys = 1;
  Fixture f(std::move(fake));
  for (int i = 0; i < 3; ++i) CHECK(f.step().empty());
  CHECK(f.creator.phase() == CreatePhase::Blocked);
  CHECK(f.last_wait == 2000);
}

TEST_CASE("an existing cluster: creation is not needed, nothing is sent") {
  SUBCASE("formed as planned") {
    Fixture f(FakeCluster::formed(6, 1));
    CHECK(f.step().empty());
    CHECK(f.creator.phase() == CreatePhase::Done);
    CHECK(f.activity.actions.get(Action::Creation) == 0);
  }
  SUBCASE("formed otherwise (e.g. after failovers)") {
    auto fake = FakeCluster::formed(6, 1);
    fake.promote(3);
    Fixture f(std::move(fake));
    CHECK(f.step().empty());
    CHECK(f.creator.phase() == CreatePhase::Done);
  }
}

TEST_CASE("finish ends creation for good") {
  Fixture f(FakeCluster::fresh(6));
  f.fake.pods[2].answers = false;
  f.step();
  f.creator.finish("this node already belongs to a formed cluster");
  CHECK(f.creator.phase() == CreatePhase::Done);
  f.fake.pods[2].answers = true;
  CHECK(f.step().empty());
}

TEST_CASE("creation refuses a pod older than Redis 7.0, naming it, and touches nothing") {
  Fixture c(FakeCluster::fresh(6));
  c.fake.runServer(5, "redis 5.0.1");
  for (int i = 0; i < 3; ++i) CHECK(c.step().empty());
  CHECK(c.creator.phase() == CreatePhase::Blocked);
  CHECK(c.activity.errors.get(ErrorKind::UnsupportedServer) == 1);
  // Once the pod runs a supported server, creation goes ahead.
  c.fake.runServer(5, "redis 7.0.15");
  c.step();
  CHECK(c.fake.count("CLUSTER ADDSLOTSRANGE") == 3);
}

TEST_CASE("creation refuses a plan whose replicas would follow newer masters") {
  Fixture c(FakeCluster::fresh(6));
  for (int m = 0; m < 3; ++m) c.fake.runServer(m, "valkey 8.0.1");
  CHECK(c.step().empty());
  CHECK(c.creator.phase() == CreatePhase::Blocked);
  CHECK(c.activity.errors.get(ErrorKind::OlderReplicaRefused) == 1);
}

TEST_CASE("creation from Redis 7.0 masters and Valkey 8 replicas goes ahead") {
  Fixture c(FakeCluster::fresh(6));
  for (int r = 3; r < 6; ++r) c.fake.runServer(r, "valkey 8.0.1");
  for (int i = 0; i < 20 && c.creator.phase() != CreatePhase::Done; ++i) c.step();
  CHECK(c.creator.phase() == CreatePhase::Done);
  for (int r = 3; r < 6; ++r) CHECK_FALSE(c.fake.nodeOf(r).master);
  CHECK(c.activity.errors.get(ErrorKind::OlderReplicaRefused) == 0);
}

TEST_CASE("a creator round's budget grows with the pods each probe worker has in turn") {
  CHECK(creatorRoundBudgetMs(6, 4) == Creator::kProbeBudgetMs);
  CHECK(creatorRoundBudgetMs(24, 4) == Creator::kProbeBudgetMs);
  CHECK(creatorRoundBudgetMs(48, 4) == 12 * kCreatorProbeMs);
  CHECK(creatorRoundBudgetMs(96, 4) == 24 * kCreatorProbeMs);
  CHECK(creatorRoundBudgetMs(48, 8) == Creator::kProbeBudgetMs);
  CHECK(creatorRoundBudgetMs(1, 0) == Creator::kProbeBudgetMs);
}

TEST_CASE("48 empty pods: every round gets the scaled budget, and the cluster is formed") {
  testing::TempDir dir;
  FakeClock clock;
  Activity activity;
  FakeCluster fake = FakeCluster::fresh(48);
  TimeoutBoost boost(statefile::pathBeside(dir.file("nodes.conf"), statefile::kTimeoutBoost), fake,
                     activity, clock);
  Creator creator({48, 1, "node-0", "", "", FakeCluster::kSet, 0, 4}, fake, boost, k8sNode,
                  activity, clock);
  for (int i = 0; i < 40 && creator.phase() != CreatePhase::Done; ++i) creator.step();
  CHECK(creator.phase() == CreatePhase::Done);
  REQUIRE_FALSE(fake.requests.empty());
  for (const auto& r : fake.requests) {
    if (r.agent_info) CHECK(r.budget_ms == 12 * kCreatorProbeMs);
  }
  CHECK(fake.count("CLUSTER ADDSLOTSRANGE") == 24);
}
