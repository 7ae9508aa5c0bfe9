// SPDX-License-Identifier: Apache-2.0
// Server versions through the seam (cluster::Pods, the fake cluster): peers answering like
// Redis 5.0.1 or Valkey 8.0.1 are read like any other, and the creator and healer never make an
// older node follow a newer master. The layout keeper's refusal is in layout/keeper_test.cpp,
// the handover's in handover/handover_test.cpp, `run`'s own check in app/parts_test.cpp.
#include "cluster/versions.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cluster/creator.h"
#include "cluster/healer.h"
#include "cluster/health.h"
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

redis::ServerInfo server(const std::string& name, const std::string& version,
                         const std::string& compat) {
  return {name, version, compat};
}

const redis::ServerInfo kRedis501 = server("redis", "5.0.1", "5.0.1");
const redis::ServerInfo kRedis70 = server("redis", "7.0.15", "7.0.15");
const redis::ServerInfo kRedis72 = server("redis", "7.2.4", "7.2.4");
const redis::ServerInfo kRedis74 = server("redis", "7.4.1", "7.4.1");
const redis::ServerInfo kValkey80 = server("valkey", "8.0.1", "7.2.4");

}  // namespace

TEST_CASE("which server may follow which: never an older one behind a newer master") {
  CHECK(redis::canFollow(kRedis70, kRedis501));  // 5.0 master, upgraded replica: the adoption
  CHECK_FALSE(redis::canFollow(kRedis501, kRedis70));
  CHECK(redis::canFollow(kValkey80, kRedis70));  // the migration's direction
  CHECK_FALSE(redis::canFollow(kRedis70, kValkey80));
  CHECK(redis::canFollow(kRedis72, kValkey80));  // one format (RDB 11) both ways
  CHECK(redis::canFollow(kValkey80, kRedis72));
  CHECK_FALSE(redis::canFollow(kValkey80, kRedis74));
  CHECK(redis::canFollow(kRedis70, server("redis", "7.0.11", "7.0.11")));  // patch releases
  CHECK(redis::canFollow(kRedis70, kRedis70));
}

TEST_CASE("a refusal names both nodes and their servers; unknown servers are not refused") {
  auto why = followRefusal({"redis-3", kRedis70}, {"redis-0", kValkey80});
  REQUIRE(why);
  CHECK(*why ==
        "redis-3 (redis 7.0.15) cannot follow redis-0 (valkey 8.0.1), a newer server: an older "
        "server cannot load a newer master's RDB, so it would never sync");
  CHECK_FALSE(followRefusal({"redis-3", kValkey80}, {"redis-0", kRedis70}));
  CHECK_FALSE(followRefusal({"redis-3", std::nullopt}, {"redis-0", kValkey80}));
}

TEST_CASE("a peer answering like Redis 5.0.1 is read like any other and counts as healthy") {
  auto fake = FakeCluster::formed(6, 1);
  fake.runServer(4, "redis 5.0.1");
  fake.runServer(2, "valkey 8.0.1");
  const auto& pods = fake.probeAll(Pods::Depth::Snapshot);
  REQUIRE(pods[4].server);
  CHECK(pods[4].server->str() == "redis 5.0.1");
  CHECK(pods[2].server->str() == "valkey 8.0.1");
  CHECK(pods[2].server->redis_version == "7.2.4");
  CHECK(pods[0].server->str() == "redis 7.0.15");
  CHECK(pods[4].live());
  CHECK(assess(pods, 1).healthy);
  CHECK(serverOf(pods, simId(4))->version == "5.0.1");
  CHECK_FALSE(serverOf(pods, "unknown"));
  auto old = unsupportedPods(pods);
  REQUIRE(old.size() == 1);
  CHECK(old[0].find("redis-4: Redis 5.0.1 is not supported") == 0);
}

TEST_CASE("an Id probe reads the server too, so every pod's version is known between snapshots") {
  auto fake = FakeCluster::formed(6, 1);
  fake.runServer(1, "redis 5.0.1");
  const auto& pods = fake.probeAll(Pods::Depth::Id);
  REQUIRE(pods[1].server);
  CHECK(pods[1].server->version == "5.0.1");
}

namespace {

struct Healing {
  explicit Healing(FakeCluster initial, int me)
      : fake(std::move(initial)),
        healer({me, 6, 6379, 3000, FakeCluster::kSet}, fake, activity, clock) {
    fake.local = me;
    for (int i = 0; i < static_cast<int>(fake.pods.size()); ++i) {
      map.set(fake.pods[static_cast<size_t>(i)].node_id, i, true);
    }
  }
  // Passes until the empty node has joined and its replication is due.
  std::vector<std::string> joinAndSettle() {
    pass();
    clock.advance(Healer::kJoinSettleMs);
    pass();
    pass();
    clock.advance(Healer::kReplicateSettleMs);
    return pass();
  }
  std::vector<std::string> pass() {
    fake.sent.clear();
    fake.probe({{}, Pods::Depth::Snapshot, true, 300});
    healer.step(fake.snapshotOf(fake.local), map, true);
    return fake.sentTexts();
  }

  FakeClock clock;
  Activity activity;
  FakeCluster fake;
  nodes_conf::OrdinalMap map;
  Healer healer;
};

}  // namespace

TEST_CASE("the healer never makes an empty Redis 7.0 node a replica of a Valkey 8 master") {
  auto fake = FakeCluster::formed(6, 1);
  fake.wipe(4, simId(10));  // the replica of master 1 lost its data
  fake.runServer(1, "valkey 8.0.1");
  Healing h(std::move(fake), 4);
  h.joinAndSettle();
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
  Healing h(std::move(fake), 4);
  auto sent = h.joinAndSettle();
  REQUIRE_FALSE(sent.empty());
  CHECK(sent[0] == "local CLUSTER REPLICATE " + simId(1));
  CHECK(h.activity.errors.get(ErrorKind::OlderReplicaRefused) == 0);
}

namespace {

std::optional<Placement> noPlacement(const PeerProbe& /*pod*/) {
  return Placement{};
}

struct Creating {
  explicit Creating(FakeCluster initial)
      : fake(std::move(initial)),
        boost(statefile::pathBeside(dir.file("nodes.conf"), statefile::kTimeoutBoost), fake,
              activity, clock),
        creator({6, 1, "", "", "", FakeCluster::kSet, 0}, fake, boost, noPlacement, activity,
                clock) {}
  testing::TempDir dir;
  FakeClock clock;
  Activity activity;
  FakeCluster fake;
  TimeoutBoost boost;
  Creator creator;
};

}  // namespace

TEST_CASE("creation refuses a pod older than Redis 7.0, naming it, and touches nothing") {
  Creating c(FakeCluster::fresh(6));
  c.fake.runServer(5, "redis 5.0.1");
  for (int i = 0; i < 3; ++i) c.creator.step();
  CHECK(c.creator.phase() == CreatePhase::Blocked);
  CHECK(c.fake.sent.empty());
  CHECK(c.activity.errors.get(ErrorKind::UnsupportedServer) == 1);
  // Once the pod runs a supported server, creation goes ahead.
  c.fake.runServer(5, "redis 7.0.15");
  c.creator.step();
  CHECK(c.fake.count("CLUSTER ADDSLOTSRANGE") == 3);
}

TEST_CASE("creation refuses a plan whose replicas would follow newer masters") {
  Creating c(FakeCluster::fresh(6));
  for (int m = 0; m < 3; ++m) c.fake.runServer(m, "valkey 8.0.1");
  c.creator.step();
  CHECK(c.creator.phase() == CreatePhase::Blocked);
  CHECK(c.fake.sent.empty());
  CHECK(c.activity.errors.get(ErrorKind::OlderReplicaRefused) == 1);
}

TEST_CASE("creation from Redis 7.0 masters and Valkey 8 replicas goes ahead") {
  Creating c(FakeCluster::fresh(6));
  for (int r = 3; r < 6; ++r) c.fake.runServer(r, "valkey 8.0.1");
  for (int i = 0; i < 20 && c.creator.phase() != CreatePhase::Done; ++i) c.creator.step();
  CHECK(c.creator.phase() == CreatePhase::Done);
  CHECK(c.fake.count("CLUSTER REPLICATE") == 3);
}
