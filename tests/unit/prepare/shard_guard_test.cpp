// SPDX-License-Identifier: Apache-2.0
// The shard guard of prepare: a master back without its data and its replicas, in a fake cluster.
#include "prepare/shard_guard.h"

#include <doctest/doctest.h>

#include "common/files.h"
#include "peers/resolver.h"
#include "support/fake_clock.h"
#include "support/fake_cluster.h"
#include "support/fixtures.h"

using namespace agent;
using agent::prepare::GuardDecision;
using agent::testing::FakeClock;
using agent::testing::FakeCluster;
using agent::testing::simId;
using Kind = GuardDecision::Kind;

namespace {

// Master 2 (slots 10923-16383) is stopped and lost its data; replica 5 holds the shard's keys.
struct Shard {
  explicit Shard(FakeCluster initial = FakeCluster::formed(6, 1)) : fake(std::move(initial)) {
    fake.pods[2].answers = false;  // prepare runs before its Redis starts
    for (auto& n : fake.nodes) n.keys = n.master_id == simId(2) ? 300 : 0;
  }
  // nodes.conf of node 2 as it was saved before the stop: the model at the first call.
  const nodes_conf::NodesConf& conf() {
    if (!saved) {
      auto parsed = nodes_conf::parseClusterNodes(fake.clusterNodes(simId(2)));
      REQUIRE(parsed);
      saved = *parsed;
    }
    return *saved;
  }
  GuardDecision decide() {
    probes = fake.probeAll(cluster::Pods::Depth::Snapshot, 2000);
    return prepare::decideShardGuard(probes, conf());
  }

  FakeCluster fake;
  std::optional<nodes_conf::NodesConf> saved;
  std::vector<cluster::PeerProbe> probes;
};

class NoResolver final : public peers::Resolver {
 public:
  int calls = 0;
  Result<std::string> resolve(const std::string& name, const std::string&) override {
    ++calls;
    return fail(Errc::NotFound, "cannot resolve " + name);
  }
};

}  // namespace

TEST_CASE("guard decisions: wait for the replica with the most data") {
  Shard s(FakeCluster::formed(9, 2));  // master 2's replicas: pods 5 and 8
  s.fake.nodeOf(5).offset = 100;
  s.fake.nodeOf(8).offset = 200;
  auto d = s.decide();
  CHECK(d.kind == Kind::Wait);
  REQUIRE(d.pod != nullptr);
  CHECK(d.pod->ordinal == 8);
}

TEST_CASE("guard decisions: start once another master owns the slots") {
  Shard s;
  s.conf();
  s.fake.promote(5);
  auto d = s.decide();
  CHECK(d.kind == Kind::OwnerElsewhere);
  REQUIRE(d.pod != nullptr);
  CHECK(d.pod->ordinal == 5);
}

TEST_CASE("guard decisions: start empty when no replica exists anywhere") {
  Shard s;
  s.fake.nodeOf(5).master = true;  // pod 5 never replicated node 2
  s.fake.nodeOf(5).master_id.clear();
  CHECK(s.decide().kind == Kind::NoReplica);
}

TEST_CASE("guard decisions: a replica that holds no keys has nothing to protect") {
  Shard s;
  s.fake.nodeOf(5).keys = 0;
  auto d = s.decide();
  CHECK(d.kind == Kind::ReplicaEmpty);
  CHECK(d.pod->ordinal == 5);
}

TEST_CASE("guard decisions: a replica known but not answering is waited for") {
  Shard s;
  s.fake.pods[5].answers = false;
  auto d = s.decide();
  CHECK(d.kind == Kind::Wait);
  CHECK(d.pod == nullptr);
}

TEST_CASE("the guard has the replica take over, then lets Redis start") {
  Shard s;
  FakeClock clock;
  auto st = prepare::awaitTakeover({30000, 2000}, s.conf(), s.fake, clock);
  CHECK(st);
  CHECK(s.fake.sentTexts() == std::vector<std::string>{"5 CLUSTER FAILOVER FORCE"});
  CHECK(s.fake.nodeOf(5).master);
  CHECK(clock.slept() == prepare::kGuardPollMs);
}

TEST_CASE("the guard asks again every 5 s and refuses once the replica has not taken over") {
  Shard s;
  FakeClock clock;
  s.fake.script(5, "CLUSTER FAILOVER", fail(Errc::Server, "ERR no majority"));
  auto st = prepare::awaitTakeover({12000, 2000}, s.conf(), s.fake, clock);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::Refused);
  CHECK(st.error().message.find("no replica took them over within 12000 ms") != std::string::npos);
  CHECK(s.fake.count(5, "CLUSTER FAILOVER FORCE") == 3);  // at 0, 5 and 10 s
  CHECK(clock.slept() == 12000);
}

TEST_CASE("the guard is not needed for a replica, a master with data, or one without slots") {
  testing::TempDir dir;
  config::Config c;
  c.data_dir = dir.path();
  c.peer_host_template = "redis-{ordinal}.svc";
  Shard s;
  NoResolver resolver;
  SUBCASE("a replica") {
    auto replica = nodes_conf::parseClusterNodes(s.fake.clusterNodes(simId(5)));
    REQUIRE(replica);
    CHECK(prepare::guardShardData(c, *replica, resolver));
  }
  SUBCASE("data files") {
    REQUIRE(files::writeAtomically(dir.file("dump.rdb"), "REDIS"));
    CHECK(prepare::guardShardData(c, s.conf(), resolver));
  }
  SUBCASE("no slots") {
    s.fake.nodeOf(2).slots.clear();  // before conf(): its file says so
    CHECK(prepare::guardShardData(c, s.conf(), resolver));
  }
  CHECK(resolver.calls == 0);
}

TEST_CASE("a data-less master without peer names is refused, not started as the owner") {
  testing::TempDir dir;
  config::Config c;
  c.data_dir = dir.path();
  Shard s;
  NoResolver resolver;
  auto st = prepare::guardShardData(c, s.conf(), resolver);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::Refused);
  CHECK(st.error().message.find("--peer-host-template") != std::string::npos);
}
