// SPDX-License-Identifier: Apache-2.0
#include "probes/readiness.h"

#include <doctest/doctest.h>

#include "support/fixtures.h"

using namespace agent;
using agent::testing::snapshotFixture;

namespace {

std::vector<probes::Check> checksOf(const cluster::Snapshot& s) {
  return probes::readinessChecks({&s, "", false});
}

const probes::Check& named(const std::vector<probes::Check>& checks, const std::string& name) {
  for (const auto& c : checks) {
    if (c.name == name) return c;
  }
  FAIL("no check named " << name);
  return checks.front();
}

std::vector<std::string> failing(const std::vector<probes::Check>& checks) {
  std::vector<std::string> out;
  for (const auto& c : checks) {
    if (!c.ok) out.push_back(c.name);
  }
  return out;
}

using Names = std::vector<std::string>;

// A fixture's snapshot with its CLUSTER INFO text edited: `from` replaced by `to`.
cluster::Snapshot withClusterInfo(const std::string& fixture, const std::string& from,
                                  const std::string& to) {
  std::string base = "probes/" + fixture;
  std::string info = agent::testing::readData(base + ".cluster-info");
  auto pos = info.find(from);
  REQUIRE(pos != std::string::npos);
  info.replace(pos, from.size(), to);
  auto snap = cluster::snapshotFromText(agent::testing::readData(base + ".info"), info,
                                        agent::testing::readData(base + ".cluster-nodes"));
  REQUIRE(snap.has_value());
  return *snap;
}

// A snapshot whose CLUSTER NODES text is edited: `from` replaced by `to` on every line.
cluster::Snapshot edited(const std::string& fixture, const std::string& from,
                         const std::string& to) {
  std::string base = "probes/" + fixture;
  std::string nodes = agent::testing::readData(base + ".cluster-nodes");
  for (size_t pos = nodes.find(from); pos != std::string::npos; pos = nodes.find(from, pos)) {
    nodes.replace(pos, from.size(), to);
    pos += to.size();
  }
  auto snap = cluster::snapshotFromText(agent::testing::readData(base + ".info"),
                                        agent::testing::readData(base + ".cluster-info"), nodes);
  REQUIRE(snap.has_value());
  return *snap;
}

}  // namespace

TEST_CASE("a formed master and a replica in sync are ready") {
  for (const char* name : {"master", "replica"}) {
    CAPTURE(name);
    auto checks = checksOf(snapshotFixture(name));
    CHECK(failing(checks).empty());
    CHECK(checks.size() == 7);
  }
}

TEST_CASE("checks come in a fixed order, whatever the state") {
  Names order{"redis-ping",  "redis-loading",    "cluster-joined", "replication",
              "shard-slots", "cluster-majority", "cluster-state"};
  for (const char* name : {"master", "fresh", "loading", "replica-syncing"}) {
    auto checks = checksOf(snapshotFixture(name));
    Names got;
    for (const auto& c : checks) got.push_back(c.name);
    CHECK(got == order);
  }
  auto down = probes::readinessChecks({nullptr, "connection refused", false});
  REQUIRE(down.size() == order.size());
  CHECK(down[6].name == "cluster-state");
}

TEST_CASE("an unreachable Redis fails hard when refused, softly when it timed out") {
  auto refused = probes::readinessChecks({nullptr, "127.0.0.1:6379: Connection refused", false});
  CHECK_FALSE(refused[0].ok);
  CHECK(refused[0].hard);
  CHECK(refused[0].reason.find("Connection refused") != std::string::npos);
  CHECK(failing(refused).size() == 7);
  auto slow = probes::readinessChecks({nullptr, "timed out", true});
  CHECK_FALSE(slow[0].ok);
  CHECK_FALSE(slow[0].hard);
}

TEST_CASE("a node loading its dataset is not ready, and says how far it got") {
  auto s = snapshotFixture("loading");
  REQUIRE(s.loading);
  auto checks = checksOf(s);
  CHECK(named(checks, "redis-ping").ok);
  const auto& loading = named(checks, "redis-loading");
  CHECK_FALSE(loading.ok);
  CHECK(loading.hard);
  CHECK(loading.reason.find("2.62% done") != std::string::npos);
  CHECK(named(checks, "cluster-joined").reason.find("loading") != std::string::npos);
}

TEST_CASE("a fresh node that knows only itself has not joined") {
  auto checks = checksOf(snapshotFixture("fresh"));
  CHECK(failing(checks) == Names{"cluster-joined", "cluster-majority"});
  CHECK(named(checks, "cluster-joined").reason.find("knows only itself") != std::string::npos);
  CHECK(named(checks, "cluster-joined").hard);
}

TEST_CASE("a replica in a full sync is not ready at once") {
  auto checks = checksOf(snapshotFixture("replica-syncing"));
  CHECK(failing(checks) == Names{"replication"});
  const auto& repl = named(checks, "replication");
  CHECK(repl.hard);
  CHECK(repl.reason.find("full sync from 127.158.0.10:6379 in progress") != std::string::npos);
}

TEST_CASE("a replica whose link was never up fails hard; one that dropped fails softly") {
  std::string info = agent::testing::readData("probes/replica.info");
  std::string from = "master_link_status:up";
  std::string down = info.replace(info.find(from), from.size(), "master_link_status:down");
  auto with_down_since = [&](const std::string& seconds) {
    auto snap = cluster::snapshotFromText(down + "master_link_down_since_seconds:" + seconds + "\n",
                                          agent::testing::readData("probes/replica.cluster-info"),
                                          agent::testing::readData("probes/replica.cluster-nodes"));
    REQUIRE(snap.has_value());
    return named(checksOf(*snap), "replication");
  };
  auto never = with_down_since("-1");
  CHECK_FALSE(never.ok);
  CHECK(never.hard);
  CHECK(never.reason == "not synced with master 127.158.0.10:6379 yet");
  auto dropped = with_down_since("2");
  CHECK_FALSE(dropped.ok);
  CHECK_FALSE(dropped.hard);
  CHECK(dropped.reason == "link to master 127.158.0.10:6379 down for 2s");
}

TEST_CASE("a replica whose master failed is not ready; its shard's master is flagged fail") {
  auto checks = checksOf(snapshotFixture("replica-of-failed-master"));
  CHECK(failing(checks) == Names{"replication", "shard-slots"});
  CHECK_FALSE(named(checks, "replication").hard);  // a link blip alone must last to count
  CHECK(named(checks, "replication").reason.find("down for 4s") != std::string::npos);
  CHECK(named(checks, "shard-slots").hard);
  CHECK(named(checks, "shard-slots").reason.find("a9a3b5c8") != std::string::npos);
  // Two of three masters owning slots still answer: the majority check passes.
  CHECK(named(checks, "cluster-majority").ok);
}

TEST_CASE("a failed master in another shard leaves this master ready") {
  // Per-node readiness: cluster_state is fail here, yet this node serves its own slots.
  auto s = snapshotFixture("master-sees-failed-master");
  REQUIRE_FALSE(s.clusterOk());
  CHECK(failing(checksOf(s)).empty());
}

TEST_CASE("a noaddr master in another shard leaves this master ready") {
  auto s = snapshotFixture("noaddr-peer");
  REQUIRE(s.nodes->nodes().size() == 6);
  CHECK(failing(checksOf(s)).empty());
}

TEST_CASE("a replica whose own master is noaddr or pfail fails softly") {
  // The replica fixture's master, 127.158.0.10, made noaddr / fail? in the replica's view.
  auto noaddr = edited("replica", "127.158.0.10:6379@16379 master", ":0@0 master,noaddr");
  auto checks = checksOf(noaddr);
  CHECK(failing(checks) == Names{"shard-slots"});
  CHECK_FALSE(named(checks, "shard-slots").hard);
  CHECK(named(checks, "shard-slots").reason.find("noaddr") != std::string::npos);
  auto pfail = edited("replica", "6379@16379 master -", "6379@16379 master,fail? -");
  CHECK(failing(checksOf(pfail)) == Names{"shard-slots", "cluster-majority"});
}

TEST_CASE("a master cut off from the other masters loses the majority check") {
  // Right after a restart every link is down: the node cannot know whether it still owns its
  // slots (docs/redis-facts.md, "Startup").
  auto s = edited("master", " connected", " disconnected");
  auto checks = checksOf(s);
  CHECK(failing(checks) == Names{"cluster-majority"});
  CHECK(named(checks, "cluster-majority").reason == "reaches 1 of 3 masters that own slots");
  CHECK_FALSE(named(checks, "cluster-majority").hard);
}

TEST_CASE("a master without slots in a cluster has not joined") {
  auto s = edited("master", " connected 0-5460", " connected");
  CHECK(named(checksOf(s), "cluster-joined").reason == "a master that owns no slots");
}

TEST_CASE("gate: every check starts failed and passes after the rise time") {
  probes::ReadinessGate gate({1000, 3000});
  auto good = checksOf(snapshotFixture("master"));
  CHECK(failing(gate.update(good, 0)).size() == 7);
  auto early = gate.update(good, 999);
  CHECK(failing(early).size() == 7);
  CHECK(early[0].reason.find("passing for 999ms, counts after 1000ms") != std::string::npos);
  CHECK(failing(gate.update(good, 1000)).empty());
}

TEST_CASE("gate: a hard failure counts at once, a soft one only once it lasts") {
  probes::ReadinessGate gate({1000, 3000});
  auto good = checksOf(snapshotFixture("replica"));
  gate.update(good, 0);
  REQUIRE(failing(gate.update(good, 1000)).empty());
  auto link_down = edited("replica", "127.158.0.10:6379@16379 master", ":0@0 master,noaddr");
  auto soft = checksOf(link_down);
  CHECK(failing(gate.update(soft, 2000)).empty());
  CHECK(failing(gate.update(soft, 4999)).empty());
  auto failed = gate.update(soft, 5000);
  CHECK(failing(failed) == Names{"shard-slots"});
  CHECK(failed[4].reason.find("noaddr") != std::string::npos);
  // A soft failure that heals within the fall time never shows.
  gate.update(good, 6000);
  CHECK(failing(gate.update(good, 7000)).empty());
  gate.update(soft, 8000);
  CHECK(failing(gate.update(good, 9000)).empty());
  // A hard one shows at once.
  CHECK(failing(gate.update(checksOf(snapshotFixture("replica-syncing")), 9100)) ==
        Names{"replication"});
}

TEST_CASE("gate: a check that keeps flapping faster than the rise time stays failed") {
  probes::ReadinessGate gate({1000, 3000});
  auto good = checksOf(snapshotFixture("replica"));
  auto bad = checksOf(snapshotFixture("replica-syncing"));
  int transitions = 0;
  bool was_ready = false;
  for (int64_t t = 0; t < 20000; t += 100) {
    auto out = gate.update((t / 500) % 2 == 0 ? good : bad, t);
    bool ready = failing(out).empty();
    transitions += ready != was_ready ? 1 : 0;
    was_ready = ready;
  }
  CHECK(transitions == 0);
}

TEST_CASE("a Redis that answers with an error passes redis-ping; the other checks say why") {
  // rename-command CLUSTER "": PING and INFO answer, CLUSTER INFO does not.
  const std::string why =
      "Redis answers, but not to CLUSTER: it is renamed or disabled (rename-command ...)";
  auto checks = probes::readinessChecks({nullptr, why, false, true});
  CHECK(named(checks, "redis-ping").ok);
  CHECK(failing(checks) == Names{"redis-loading", "cluster-joined", "replication", "shard-slots",
                                 "cluster-majority", "cluster-state"});
  for (const auto& c : checks) {
    if (!c.ok) CHECK(c.reason.find("not to CLUSTER") != std::string::npos);
    CHECK(c.reason.find("does not answer") == std::string::npos);
  }
}

TEST_CASE("a master Redis holds at cluster_state fail with every slot served is not ready") {
  // Right after a restart (2 s) or a rejoin (up to 5 s) it answers CLUSTERDOWN to its own slots.
  auto held = withClusterInfo("master", "cluster_state:ok", "cluster_state:fail");
  auto checks = checksOf(held);
  CHECK(failing(checks) == Names{"cluster-state"});
  const auto& state = named(checks, "cluster-state");
  CHECK_FALSE(state.hard);  // a ready node rides out a blip; a starting one is not ready yet
  CHECK(state.reason.find("CLUSTERDOWN") != std::string::npos);
}

TEST_CASE("cluster_state fail that the view explains is left to the per-node checks") {
  // Another shard's master failed (recorded from Redis 7.0): its 5461 slots are in fail.
  auto other_shard = snapshotFixture("master-sees-failed-master");
  REQUIRE_FALSE(other_shard.clusterOk());
  CHECK(named(checksOf(other_shard), "cluster-state").ok);
  // Slots without an owner (a cluster not created yet): the node is unready for other reasons.
  auto fresh = snapshotFixture("fresh");
  REQUIRE_FALSE(fresh.clusterOk());
  CHECK(named(checksOf(fresh), "cluster-state").ok);
}
