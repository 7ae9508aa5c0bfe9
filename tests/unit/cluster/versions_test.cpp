// SPDX-License-Identifier: Apache-2.0
// Server versions: which server may follow which, and peers answering like Redis 5.0.1 or
// Valkey 8.0.1 read through the seam (cluster::Pods, the fake cluster) like any other. Each
// part's refusal is tested with the part: cluster/healer_test.cpp, cluster/creator_test.cpp,
// layout/keeper_test.cpp, handover/handover_test.cpp (an older replica may take over) and
// app/parts_test.cpp (`run` on its own old server).
#include "cluster/versions.h"

#include <doctest/doctest.h>

#include "cluster/health.h"
#include "support/fake_cluster.h"

using namespace agent;
using namespace agent::cluster;
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
