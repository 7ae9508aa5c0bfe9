// SPDX-License-Identifier: Apache-2.0
// The layout keeper through the seam: who acts, after how much quiet, what it checks and sends,
// and how it counts and backs off. The planning itself is in plan_test.cpp.
#include "layout/keeper.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "support/fake_clock.h"
#include "support/fake_cluster.h"

using namespace agent;
using namespace agent::layout;
using agent::testing::FakeClock;
using agent::testing::FakeCluster;
using agent::testing::simId;

namespace {

constexpr int64_t kQuietMs = 10000;

struct Fixture {
  explicit Fixture(int me, Target target = Target::Ordinals, bool acts = true)
      : fake(FakeCluster::formed(6, 1)),
        keeper(
            options(me, target, acts), fake, [this](const std::string& ip) { return answer(ip); },
            activity, clock) {
    fake.local = me;
  }

  KeeperOptions options(int me, Target target, bool acts) {
    KeeperOptions o;
    o.target = target;
    o.acts = acts;
    o.quiet_ms = kQuietMs;
    o.node_timeout_ms = 3000;
    o.me = {me, fmt::format("redis-{}", me), {nodes[static_cast<size_t>(me)], ""}};
    return o;
  }

  std::optional<PeerAnswer> answer(const std::string& ip) {
    ++lookups;
    for (size_t i = 0; i < fake.pods.size(); ++i) {
      const auto& n = fake.nodeOf(static_cast<int>(i));
      if (n.ip != ip || silent.count(static_cast<int>(i))) continue;
      return PeerAnswer{claims.count(static_cast<int>(i)) ? claims[static_cast<int>(i)] : n.id,
                        {static_cast<int>(i), fmt::format("redis-{}", i), {nodes[i], ""}}};
    }
    return std::nullopt;
  }

  // One pass of the agent's loop on the local node's snapshot.
  std::vector<std::string> pass(bool may_act = true) {
    fake.sent.clear();
    moving = keeper.step(fake.snapshotOf(fake.local), may_act);
    return fake.sentTexts();
  }
  // Passes until the placements are known (three lookups per pass), then `ms` of quiet.
  std::vector<std::string> settle(int64_t ms) {
    pass();
    pass();
    clock.advance(ms);
    return pass();
  }
  const Report& report() const { return keeper.report(); }

  std::vector<std::string> nodes = {"n0", "n1", "n2", "n3", "n4", "n5"};
  std::set<int> silent;               // agents that do not answer /peerinfo
  std::map<int, std::string> claims;  // agents that answer with another node ID
  int lookups = 0;
  FakeClock clock;
  Activity activity;
  FakeCluster fake;
  Keeper keeper;
  bool moving = false;
};

bool sentFailover(const std::vector<std::string>& sent) {
  return std::find(sent.begin(), sent.end(), "local CLUSTER FAILOVER") != sent.end();
}

}  // namespace

TEST_CASE("the creator's replica takes its shard back once the cluster has been quiet") {
  Fixture f(0);
  f.fake.promote(3);  // the tutorial's demo: redis-0 was deleted, redis-3 took over
  CHECK_FALSE(sentFailover(f.settle(kQuietMs - 1)));
  CHECK(f.report().state == "waiting");
  CHECK(f.report().detail == "quiet for 9 s of 10 s");
  CHECK(f.report().plan.offShards() == 1);
  f.clock.advance(1);
  auto sent = f.pass();
  CHECK(sent == std::vector<std::string>{"local INFO replication", "local CLUSTER FAILOVER"});
  CHECK(f.activity.actions.get(Action::LayoutFailover) == 1);
  CHECK(f.moving);
  CHECK(f.report().state == "moving");
  // The fake switched roles at once: the next pass sees this node as the master.
  CHECK(f.pass().empty());
  CHECK(f.report().state == "idle");
  CHECK(f.fake.nodeOf(0).master);
  CHECK(f.report().quiet_ms == 0);  // a failover is a change: the quiet period starts again
  CHECK(f.activity.errors.get(ErrorKind::LayoutFailoverFailed) == 0);
}

TEST_CASE("only the agent of the replica that is to take over acts") {
  for (int me : {1, 2, 3, 4, 5}) {
    Fixture f(me);
    f.fake.promote(3);
    CHECK(f.settle(10 * kQuietMs).empty());
    CHECK(f.report().detail == "redis-0 takes over slots 0-5460 next; its agent acts");
    CHECK(f.activity.actions.get(Action::LayoutFailover) == 0);
  }
}

TEST_CASE("any change in the cluster starts the quiet period again") {
  Fixture f(0);
  f.fake.promote(3);
  f.settle(kQuietMs - 2000);
  f.fake.nodeOf(2).epoch = 99;  // some other shard failed over: a new current epoch
  CHECK(f.pass().empty());
  CHECK(f.report().quiet_ms == 0);
  f.clock.advance(kQuietMs - 1);
  CHECK(f.pass().empty());
  // A failing node keeps the cluster unsettled, however long it lasts.
  f.fake.seen(simId(0), simId(4)).flags = "fail?";
  f.clock.advance(kQuietMs);
  CHECK(f.pass().empty());
  CHECK(f.report().detail == "the cluster is not settled: node 44444444 is flagged fail?");
  f.fake.seen(simId(0), simId(4)).flags = "";
  f.clock.advance(kQuietMs);
  CHECK(sentFailover(f.pass()));
}

TEST_CASE("the quiet period is never shorter than twice the node timeout") {
  Fixture f(0);
  CHECK(f.keeper.neededQuietMs() == kQuietMs);
  f.keeper.setNodeTimeout(15000);
  CHECK(f.keeper.neededQuietMs() == 30000);
  f.fake.promote(3);
  CHECK(f.settle(kQuietMs).empty());
  f.clock.advance(20000);
  CHECK(sentFailover(f.pass()));
}

TEST_CASE("a replica behind its master waits until it has caught up") {
  Fixture f(0);
  f.fake.promote(3);
  f.fake.nodeOf(3).offset = 5000;  // the master
  f.fake.nodeOf(0).offset = 4000;
  CHECK(f.settle(kQuietMs) == std::vector<std::string>{"local INFO replication"});
  CHECK(f.report().detail ==
        "this replica is not in sync: its offset 4000 is behind the master's 5000");
  f.fake.nodeOf(0).offset = 5000;
  CHECK(sentFailover(f.pass()));
}

TEST_CASE("a pod that does not answer, or sees another cluster, stops the move") {
  Fixture f(0);
  f.fake.promote(3);
  f.fake.pods[5].answers = false;
  CHECK(f.settle(kQuietMs).empty());
  CHECK(f.report().detail.find("not every pod agrees the cluster is settled: redis-5 did not "
                               "answer") == 0);
  CHECK(f.report().quiet_ms == 0);
  f.fake.pods[5].answers = true;
  // redis-4's own view has an older epoch (it missed the failover, say).
  f.fake.nodeOf(4).state = "fail";
  f.clock.advance(kQuietMs);
  CHECK(f.pass().empty());
  CHECK(f.report().detail ==
        "not every pod agrees the cluster is settled: redis-4: cluster_state is fail");
  f.fake.nodeOf(4).state.reset();
  f.clock.advance(kQuietMs);
  CHECK(sentFailover(f.pass()));
}

TEST_CASE("a refused or stalled failover is counted and retried after a back-off") {
  Fixture f(0);
  f.fake.promote(3);
  f.fake.script(std::nullopt, "CLUSTER FAILOVER",
                agent::fail(Errc::Server, "ERR Master is down or failed"), 1);
  CHECK(sentFailover(f.settle(kQuietMs)));
  CHECK(f.activity.errors.get(ErrorKind::LayoutFailoverFailed) == 1);
  CHECK(f.report().detail ==
        "the last move failed: CLUSTER FAILOVER refused: ERR Master is down "
        "or failed");
  f.clock.advance(kQuietMs - 1);
  CHECK(f.pass().empty());
  CHECK(f.report().detail == "the last move failed; next attempt in 0 s");

  // The second attempt is accepted but roles never switch: given up after 6 s.
  f.fake.simulate = false;
  f.clock.advance(1);
  CHECK(sentFailover(f.pass()));
  CHECK(f.activity.actions.get(Action::LayoutFailover) == 2);
  f.clock.advance(Keeper::kAttemptMs);
  CHECK(f.pass().empty());
  CHECK(f.moving);
  f.clock.advance(1);
  CHECK(f.pass().empty());
  CHECK(f.activity.errors.get(ErrorKind::LayoutFailoverFailed) == 2);
  // Back-off doubles: nothing for 2 x the quiet period.
  f.fake.simulate = true;
  f.clock.advance(2 * kQuietMs - 1);
  CHECK(f.pass().empty());
  f.clock.advance(1);
  CHECK(sentFailover(f.pass()));
  CHECK(f.pass().empty());
  CHECK(f.fake.nodeOf(0).master);
}

TEST_CASE("never while the pod is leaving or creating, in observe mode, or when off") {
  {
    Fixture f(0);
    f.fake.promote(3);
    f.pass(false);
    f.pass(false);
    f.clock.advance(kQuietMs);
    CHECK(f.pass(false).empty());
    CHECK(f.report().detail == "this pod is being created or deleted");
  }
  {
    Fixture f(0, Target::Ordinals, /*acts=*/false);
    f.fake.promote(3);
    CHECK(f.settle(kQuietMs).empty());
    CHECK(f.report().detail == "observe mode");
    CHECK(f.report().plan.offShards() == 1);
  }
  {
    Fixture f(0, Target::Off);
    f.fake.promote(3);
    CHECK(f.settle(kQuietMs).empty());
    CHECK(f.report().state == "off");
  }
  {
    Fixture f(0, Target::Spread);
    f.fake.promote(3);
    CHECK(f.settle(kQuietMs).empty());
    CHECK(f.report().state == "idle");
  }
}

TEST_CASE("peer agents are asked once per node, again only after a failure or a new address") {
  Fixture f(1);
  f.silent = {4};
  f.pass();
  CHECK(f.lookups == Keeper::kLookupsPerPass);
  f.pass();
  CHECK(f.lookups == 5);  // the other five nodes, once each
  f.pass();
  CHECK(f.lookups == 5);
  CHECK(f.report().plan.unknown == std::vector<std::string>{"44444444"});
  f.clock.advance(Keeper::kLookupRetryMs);
  f.silent.clear();
  f.pass();
  CHECK(f.lookups == 6);
  CHECK(f.report().plan.unknown.empty());
  // A node known at a new address is asked again; an answer for another ID is no answer.
  f.claims[2] = simId(9);
  f.fake.nodeOf(2).ip = "10.0.1.2";
  for (auto& n : f.fake.nodes) n.knows[simId(2)].ip.reset();
  f.pass();
  CHECK(f.lookups == 7);
  CHECK(f.report().plan.unknown == std::vector<std::string>{"22222222"});
}

TEST_CASE("unknown placements hold the move back") {
  Fixture f(0);
  f.fake.promote(3);
  f.silent = {5};
  CHECK(f.settle(kQuietMs).empty());
  CHECK(f.report().detail == "where 55555555 run(s) is not known yet");
}

TEST_CASE("a node outside a formed cluster is not planned for") {
  Fixture f(0);
  f.fake = FakeCluster::fresh(6);
  CHECK(f.pass().empty());
  CHECK_FALSE(f.report().planned);
}

TEST_CASE("the settled check and the fingerprint") {
  FakeCluster fake = FakeCluster::formed(6, 1);
  CHECK_FALSE(unsettled(fake.snapshotOf(0)));
  auto print = fingerprint(fake.snapshotOf(0));
  CHECK(print == fingerprint(fake.snapshotOf(0)));
  fake.seen(simId(0), simId(1)).connected = false;
  CHECK(unsettled(fake.snapshotOf(0)) ==
        std::optional<std::string>("the link to node 11111111 is down"));
  fake.seen(simId(0), simId(1)).connected = true;
  fake.nodeOf(3).slots.clear();
  fake.promote(3);
  CHECK(fingerprint(fake.snapshotOf(0)) != print);
}

TEST_CASE("no failback that would make the shard's Redis 7.0 master follow a Valkey 8 node") {
  Fixture f(0);
  f.fake.promote(3);
  f.fake.runServer(0, "valkey 8.0.1");  // redis-0 came back as Valkey: a replica of redis-3
  CHECK_FALSE(sentFailover(f.settle(kQuietMs)));
  CHECK(f.report().detail ==
        "the move is refused: redis-3 (redis 7.0.15) cannot follow redis-0 (valkey 8.0.1), a "
        "newer server: an older server cannot load a newer master's RDB, so it would never sync");
  CHECK(f.activity.errors.get(ErrorKind::OlderReplicaRefused) == 1);
  CHECK(f.activity.actions.get(Action::LayoutFailover) == 0);
  CHECK(f.activity.errors.get(ErrorKind::LayoutFailoverFailed) == 0);
  // Asked again only after the backoff (the quiet period, doubling), counted each time.
  CHECK_FALSE(sentFailover(f.pass()));
  CHECK(f.report().detail.find("the move is refused: redis-3 (redis 7.0.15)") == 0);
  CHECK(f.activity.errors.get(ErrorKind::OlderReplicaRefused) == 1);
  f.clock.advance(kQuietMs);
  CHECK_FALSE(sentFailover(f.pass()));
  CHECK(f.activity.errors.get(ErrorKind::OlderReplicaRefused) == 2);
  CHECK(f.fake.nodeOf(3).master);
}

TEST_CASE("failback to an older node goes ahead: the newer old master can follow it") {
  Fixture f(0);
  f.fake.promote(3);
  f.fake.runServer(3, "valkey 8.0.1");  // the shard's master is the newer node
  f.fake.runServer(1, "redis 5.0.1");   // another shard's version does not matter
  CHECK(sentFailover(f.settle(kQuietMs)));
  CHECK(f.activity.errors.get(ErrorKind::OlderReplicaRefused) == 0);
}
