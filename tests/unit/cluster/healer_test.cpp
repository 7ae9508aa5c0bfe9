// SPDX-License-Identifier: Apache-2.0
// The healer's executor through the seam: what it sends for each planned repair, how often, and
// after which settle time. The decisions themselves are in heal_plan_test.cpp.
#include "cluster/healer.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "support/fake_clock.h"
#include "support/fake_cluster.h"

using namespace agent;
using namespace agent::cluster;
using agent::testing::FakeClock;
using agent::testing::FakeCluster;
using agent::testing::simId;

namespace {

struct Fixture {
  // `history`: node ID -> ordinal entries the agents learned before the pods' current IDs (an
  // ID replaced in its pod is retired).
  Fixture(FakeCluster initial, int me, const std::map<std::string, int>& history = {})
      : fake(std::move(initial)),
        healer({me, 6, 6379, 3000, FakeCluster::kSet}, fake, activity, clock) {
    fake.local = me;
    for (const auto& [id, ordinal] : history) map.set(id, ordinal, true);
    for (int i = 0; i < static_cast<int>(fake.pods.size()); ++i) {
      map.set(fake.pods[static_cast<size_t>(i)].node_id, i, true);
    }
  }

  // One pass of the agent's loop: probe every pod, then heal from the local snapshot.
  std::vector<std::string> pass() {
    fake.sent.clear();
    fake.probe({{}, Pods::Depth::Snapshot, true, 300});
    attention = healer.step(fake.snapshotOf(fake.local), map, true);
    return fake.sentTexts();
  }

  FakeClock clock;
  Activity activity;
  FakeCluster fake;
  nodes_conf::OrdinalMap map;
  Healer healer;
  bool attention = false;
};

// Passes until an empty node has joined and its replication is due.
std::vector<std::string> joinAndSettle(Fixture& f) {
  f.pass();
  f.clock.advance(Healer::kJoinSettleMs);
  f.pass();
  f.pass();
  f.clock.advance(Healer::kReplicateSettleMs);
  return f.pass();
}

}  // namespace

TEST_CASE("a healthy cluster: nothing is sent and the loop may poll slowly") {
  Fixture f(FakeCluster::formed(6, 1), 0);
  CHECK(f.pass().empty());
  CHECK_FALSE(f.attention);
  CHECK(f.healer.phase() == HealPhase::Idle);
}

TEST_CASE("a peer known at its old address is met at the new one, once a second at most") {
  Fixture f(FakeCluster::formed(6, 1), 0);
  f.fake.move(2, "10.0.1.2");
  f.fake.simulate = false;  // the MEET does not take effect yet
  CHECK(f.pass() == std::vector<std::string>{"local CLUSTER MEET 10.0.1.2 6379 16379"});
  CHECK(f.attention);
  CHECK(f.healer.phase() == HealPhase::Healing);
  f.clock.advance(999);
  CHECK(f.pass().empty());
  f.clock.advance(1);
  CHECK(f.pass().size() == 1);
  CHECK(f.activity.actions.get(Action::Meet) == 2);
  // Once it takes effect, the view is repaired and nothing more is sent.
  f.fake.simulate = true;
  f.clock.advance(1000);
  CHECK(f.pass().size() == 1);
  f.clock.advance(1000);
  CHECK(f.pass().empty());
  CHECK_FALSE(f.attention);
}

TEST_CASE("MEET repairs a peer flagged noaddr, fail or fail? whose pod answers") {
  for (const char* flags : {"noaddr", "fail", "fail?"}) {
    CAPTURE(flags);
    Fixture f(FakeCluster::formed(6, 1), 0);
    f.fake.seen(simId(0), simId(4)).flags = flags;
    f.fake.seen(simId(0), simId(4)).connected = false;
    CHECK(f.pass() == std::vector<std::string>{"local CLUSTER MEET 10.0.0.4 6379 16379"});
    f.clock.advance(1000);
    CHECK(f.pass().empty());
  }
}

TEST_CASE("a failed command is counted and retried at the next interval") {
  Fixture f(FakeCluster::formed(6, 1), 0);
  f.fake.move(1, "10.0.1.1");
  f.fake.script(std::nullopt, "CLUSTER MEET", fail(Errc::Server, "ERR Invalid node address"), 1);
  CHECK(f.pass().size() == 1);
  CHECK(f.activity.errors.get(ErrorKind::CommandFailed) == 1);
  f.clock.advance(1000);
  CHECK(f.pass().size() == 1);
  f.clock.advance(1000);
  CHECK(f.pass().empty());
}

TEST_CASE("an empty pod joins: MEETs after 300 ms, replicates after 3 s, announces its role") {
  auto fake = FakeCluster::formed(6, 1);
  fake.wipe(4, simId(10));  // replica of master 1 lost its data; no agent saw node 4 there
  Fixture f(std::move(fake), 4);
  // Seen once: not yet (a creation might be under way).
  CHECK(f.pass().empty());
  CHECK(f.healer.phase() == HealPhase::Joining);
  f.clock.advance(299);
  CHECK(f.pass().empty());
  f.clock.advance(1);
  auto sent = f.pass();
  CHECK(sent.size() == 5);  // every member of the formed cluster
  CHECK(f.fake.count(cluster::kLocal, "CLUSTER MEET 10.0.0.0 6379 16379") == 1);
  // It knows the cluster now; it waits before choosing a master.
  f.clock.advance(1000);
  CHECK(f.pass().empty());
  CHECK(f.healer.phase() == HealPhase::Joining);
  f.clock.advance(2999);
  CHECK(f.pass().empty());
  f.clock.advance(1);
  sent = f.pass();
  REQUIRE_FALSE(sent.empty());
  // Master 1 lost its replica: it has the fewest.
  CHECK(sent[0] == "local CLUSTER REPLICATE " + simId(1));
  CHECK(f.fake.count(cluster::kLocal, "CLUSTER MEET") == 5);  // the role announcement
  CHECK(f.activity.actions.get(Action::Replicate) == 1);
  CHECK(f.fake.nodeOf(4).master_id == simId(1));
}

TEST_CASE("a replica whose master is gone for good takes over; then the old ID is forgotten") {
  auto fake = FakeCluster::formed(6, 1);
  fake.wipe(0, simId(10));  // master 0 lost its data; pod 0 runs node 10 now, started fresh
  fake.pods[0].node_fresh = true;
  Fixture f(std::move(fake), 3, {{simId(0), 0}});  // node 0 is retired
  auto sent = f.pass();
  CHECK(f.fake.count(cluster::kLocal, "CLUSTER FAILOVER FORCE") == 1);
  CHECK(f.activity.actions.get(Action::Failover) == 1);
  CHECK(f.fake.nodeOf(3).master);
  // Node 0 is a slot-less, failed replica of node 3 now: every node that knows it forgets it.
  f.clock.advance(1000);
  sent = f.pass();
  CHECK(f.fake.count("CLUSTER FORGET " + simId(0)) == 5);
  CHECK(f.fake.count(cluster::kLocal, "CLUSTER FORGET " + simId(0)) == 1);
  for (int pod : {1, 2, 4, 5}) CHECK(f.fake.count(pod, "CLUSTER FORGET " + simId(0)) == 1);
  CHECK(f.activity.actions.get(Action::Forget) == 5);
}

TEST_CASE("a forced takeover that fails is asked again only after 2 x node-timeout") {
  auto fake = FakeCluster::formed(6, 1);
  fake.wipe(0, simId(10));
  fake.pods[0].node_fresh = true;
  fake.script(std::nullopt, "CLUSTER FAILOVER", fail(Errc::Server, "ERR no votes"));
  Fixture f(std::move(fake), 3, {{simId(0), 0}});
  f.pass();
  CHECK(f.fake.count("CLUSTER FAILOVER") == 1);
  f.clock.advance(2 * 3000 + 999);
  f.pass();
  CHECK(f.fake.count("CLUSTER FAILOVER") == 0);
  f.clock.advance(1);
  f.pass();
  CHECK(f.fake.count("CLUSTER FAILOVER") == 1);
}

TEST_CASE("nodes that are no pod of the StatefulSet are reported and never touched") {
  auto fake = FakeCluster::formed(6, 1);
  testing::SimNode stranger;
  stranger.id = simId(12);
  stranger.ip = "10.9.9.9";
  stranger.master = false;
  stranger.master_id = simId(0);
  fake.nodes.push_back(stranger);
  fake.seen(simId(0), simId(12)) = {std::nullopt, "fail", false};
  Fixture f(std::move(fake), 0);
  CHECK(f.pass().empty());
  REQUIRE(f.healer.unexpected().size() == 1);
  CHECK(f.healer.unexpected()[0].find("is no pod of this StatefulSet; it is kept") !=
        std::string::npos);
  // Nothing to repair or wait for: a stranger alone does not keep the loop busy.
  CHECK_FALSE(f.attention);
}

TEST_CASE("a pod whose probe is still running is not acted on") {
  Fixture f(FakeCluster::formed(6, 1), 0);
  f.fake.move(2, "10.0.1.2");
  f.fake.probeAll(Pods::Depth::Snapshot);  // every pod has a result, pod 2 at its new IP
  f.fake.pods[2].slow = true;              // its next probe does not finish within the budget
  CHECK(f.pass().empty());
  f.fake.pods[2].slow = false;
  CHECK(f.pass().size() == 1);
}

namespace {

// A formed cluster of two nodes at 10.9.0.x with every slot: another cluster, whose pod 0 has
// the same name as ours. Returns the ID of its node at 10.9.0.0.
std::string addForeignCluster(FakeCluster& fake) {
  testing::SimNode a;
  a.id = simId(13);
  a.ip = "10.9.0.0";
  a.slots = {{0, 16383}};
  a.epoch = 1;
  testing::SimNode b;
  b.id = simId(14);
  b.ip = "10.9.0.1";
  b.master = false;
  b.master_id = a.id;
  a.knows[b.id] = {};
  b.knows[a.id] = {};
  fake.nodes.push_back(a);
  fake.nodes.push_back(b);
  return a.id;
}

}  // namespace

TEST_CASE("an empty pod whose name for redis-0 leads into another cluster never merges them") {
  for (bool foreign_agent : {true, false}) {
    CAPTURE(foreign_agent);
    auto fake = FakeCluster::formed(6, 1);
    fake.wipe(5, simId(10));
    std::string foreign = addForeignCluster(fake);
    fake.pods[0].dns_ip = "10.9.0.0";  // pod 5's resolver sends redis-0 elsewhere
    if (foreign_agent) {               // the other cluster's agents use the same names
      fake.agents_elsewhere["10.9.0.0"] =
          cluster::AgentInfo{0, "redis-0", FakeCluster::kSet, foreign, false, "", ""};
    }
    Fixture f(std::move(fake), 5);
    std::vector<std::string> sent;
    std::vector<std::string> refused;
    for (int i = 0; i < 8; ++i) {
      for (const auto& t : f.pass()) sent.push_back(t);
      if (refused.empty()) refused = f.healer.refused();
      f.clock.advance(1000);
    }
    // It joined its own cluster through the pods it could vouch for (the fake has no gossip:
    // real Redis then learns redis-0 from them).
    CHECK(std::count_if(sent.begin(), sent.end(), [](const std::string& t) {
            return t.rfind("local CLUSTER MEET 10.0.0.", 0) == 0;
          }) == 4);
    for (int k = 1; k <= 4; ++k) CHECK(f.fake.nodeOf(5).knows.count(simId(k)) == 1);
    // Nothing was ever sent to the foreign address, and neither cluster knows the other.
    for (const auto& text : sent) CHECK(text.find("10.9.0.") == std::string::npos);
    CHECK(f.fake.node(foreign).knows.count(simId(10)) == 0);
    CHECK(f.fake.nodeOf(5).knows.count(foreign) == 0);
    REQUIRE_FALSE(refused.empty());
    CHECK(refused[0].find("redis-0") != std::string::npos);
    CHECK(f.activity.errors.get(ErrorKind::ForeignNode) == 1);  // reported once
  }
}

TEST_CASE("the healer never makes an empty Redis 7.0 node a replica of a Valkey 8 master") {
  auto fake = FakeCluster::formed(6, 1);
  fake.wipe(4, simId(10));  // the replica of master 1 lost its data
  fake.runServer(1, "valkey 8.0.1");
  Fixture h(std::move(fake), 4);
  joinAndSettle(h);
  h.clock.advance(Healer::kReplicateIntervalMs);
  h.pass();
  CHECK(h.fake.count("CLUSTER REPLICATE") == 0);
  CHECK(h.fake.nodeOf(4).master);
  CHECK(h.healer.phase() == HealPhase::Waiting);
  // Logged and counted once, not at every pass.
  CHECK(h.activity.errors.get(ErrorKind::OlderReplicaRefused) == 1);
}

TEST_CASE("the healer attaches an empty node to an older master (5.0.1) as before") {
  auto fake = FakeCluster::formed(6, 1);
  fake.wipe(4, simId(10));
  fake.runServer(1, "redis 5.0.1");
  Fixture h(std::move(fake), 4);
  auto sent = joinAndSettle(h);
  REQUIRE_FALSE(sent.empty());
  CHECK(sent[0] == "local CLUSTER REPLICATE " + simId(1));
  CHECK(h.activity.errors.get(ErrorKind::OlderReplicaRefused) == 0);
}
