// SPDX-License-Identifier: Apache-2.0
// The parts of `run` that need no Redis: the ordinal learner, the publisher and its phases,
// the watch of nodes.conf.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "app/nodes_conf_watch.h"
#include "app/ordinal_learner.h"
#include "app/publisher.h"
#include "app/server_gate.h"
#include "common/clock.h"
#include "common/files.h"
#include "statefile/statefile.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::snapshotFixture;
using agent::testing::TempDir;

namespace {

// A node ID: 40 hex digits.
std::string id(char digit) {
  return std::string(40, digit);
}

cluster::PeerProbe probe(int ordinal, const std::string& node_id) {
  cluster::PeerProbe p;
  p.ordinal = ordinal;
  p.name = "redis-" + std::to_string(ordinal) + ".svc";
  p.ip = "10.0.0." + std::to_string(ordinal + 10);
  p.node_id = node_id;
  return p;
}

constexpr const char* kSet = "redis-{}.svc";

// `p` with the answer of the agent at its address: ordinal `agent_ordinal` of `set`, running
// `node_id`.
cluster::PeerProbe vouchedBy(cluster::PeerProbe p, int agent_ordinal, const std::string& node_id,
                             const std::string& set = kSet) {
  p.agent_asked = true;
  p.agent = cluster::AgentInfo{
      agent_ordinal, "redis-" + std::to_string(agent_ordinal), set, node_id, false, "", ""};
  return p;
}

}  // namespace

TEST_CASE("the ordinal learner records a peer only when its own agent vouches for it") {
  TempDir dir;
  std::string nodes_conf = dir.file("nodes.conf");
  app::OrdinalLearner learner(nodes_conf, 1, kSet);
  cluster::Snapshot local = snapshotFixture("master");
  learner.noteLocal(local);
  const std::string a = "a9a3b5c8c459fecfae02c8a22f7b2cc2ba42f2c4";  // in the local view
  const std::string c = "a4a63d5a3b66ffa7654c6f86239468d947eb457d";  // in the local view
  std::vector<cluster::PeerProbe> probes{vouchedBy(probe(0, a), 0, a), probe(1, local.myId()),
                                         probe(2, c), vouchedBy(probe(3, id('f')), 3, id('f'))};
  learner.learn(probes);
  CHECK(learner.map().ordinalOf(local.myId()) == 1);  // itself: at once
  CHECK(learner.map().ordinalOf(a) == 0);             // vouched for by redis-0's agent
  CHECK_FALSE(learner.map().ordinalOf(c));            // an ID at an address: a hint only
  // Vouched for, but a node this node's cluster does not know: another cluster's pod with the
  // same names.
  CHECK_FALSE(learner.map().ordinalOf(id('f')));
  CHECK(files::exists(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)));
  // A stale record: redis-2's name leads to redis-0, whose agent says so. Nothing is learned.
  probes[2] = vouchedBy(probe(2, a), 0, a);
  learner.learn(probes);
  CHECK(learner.map().ordinalOf(a) == 0);
  CHECK_FALSE(learner.map().idOf(2));
  // Another StatefulSet's agent at the address is no evidence either.
  probes[2] = vouchedBy(probe(2, c), 2, c, "redis-{}.other.svc");
  learner.learn(probes);
  CHECK_FALSE(learner.map().idOf(2));
  // A restarted agent starts from the file.
  app::OrdinalLearner again(nodes_conf, 1, kSet);
  CHECK(again.map().ordinalOf(a) == 0);
  CHECK(again.map().confirmed(a));
}

TEST_CASE("the ordinal learner records whether the local node started here fresh") {
  TempDir dir;
  std::string nodes_conf = dir.file("nodes.conf");
  cluster::Snapshot formed = snapshotFixture("master");
  REQUIRE_FALSE(app::bornEmpty(formed));
  {
    app::OrdinalLearner learner(nodes_conf, 1, kSet);
    learner.noteLocal(formed);
    CHECK_FALSE(learner.nodeFresh());  // first seen knowing a cluster: inherited
  }
  app::OrdinalLearner again(nodes_conf, 1, kSet);
  again.noteLocal(formed);
  CHECK_FALSE(again.nodeFresh());
  CHECK(files::exists(statefile::pathBeside(nodes_conf, statefile::kIdentity)));
}

TEST_CASE("the ordinal learner rewrites a map someone deleted") {
  TempDir dir;
  std::string nodes_conf = dir.file("nodes.conf");
  app::OrdinalLearner learner(nodes_conf, 0, kSet);
  learner.learn({});
  REQUIRE(files::exists(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)));
  REQUIRE(files::remove(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)));
  learner.learn({});
  CHECK(files::exists(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)));
}

TEST_CASE("the phase follows the facts of the view, in order") {
  state::StateView v;
  CHECK(app::phaseOf(v, false) == state::Phase::Starting);
  v.passes = 3;
  CHECK(app::phaseOf(v, false) == state::Phase::WaitingForRedis);
  v.redis_reachable = true;
  v.local = snapshotFixture("loading");
  CHECK(app::phaseOf(v, false) == state::Phase::Loading);
  v.local = snapshotFixture("master");
  v.creator_active = true;
  v.create_phase = cluster::CreatePhase::Blocked;
  CHECK(app::phaseOf(v, true) == state::Phase::Blocked);
  v.create_phase = cluster::CreatePhase::Creating;
  CHECK(app::phaseOf(v, true) == state::Phase::Bootstrapping);
  v.creator_active = false;
  CHECK(app::phaseOf(v, false) == state::Phase::Bootstrapping);
  v.healing = true;
  CHECK(app::phaseOf(v, true) == state::Phase::Healing);
  v.healing = false;
  CHECK(app::phaseOf(v, true) == state::Phase::Running);
  v.unsupported_server = "Redis 6.2.14 is not supported: ...";
  CHECK(app::phaseOf(v, true) == state::Phase::Unsupported);
  v.stopping = true;
  CHECK(app::phaseOf(v, true) == state::Phase::Stopping);
}

TEST_CASE("the publisher completes a view and makes it the one readers get") {
  app::StatePublisher publisher;
  auto first = std::make_shared<state::StateView>();
  publisher.publish(first);
  auto seen = publisher.store().get();
  CHECK(seen->phase == state::Phase::Starting);
  CHECK(seen->updated_ms > 0);
  REQUIRE_FALSE(seen->readiness.empty());
  CHECK(seen->readiness[0].name == "redis-ping");
  CHECK_FALSE(seen->readiness[0].ok);  // "not checked yet" before the first pass
  auto next = std::make_shared<state::StateView>();
  next->passes = 1;
  next->redis_reachable = true;
  next->local = snapshotFixture("master");
  publisher.publish(next);
  seen = publisher.store().get();
  CHECK(seen->phase == state::Phase::Running);
  // The gate starts every check failed: one pass is not enough to be ready.
  CHECK_FALSE(seen->readiness[0].ok);
}

TEST_CASE("the nodes.conf watch counts changes, wakes the loop and rereads prepare's record") {
  TempDir dir;
  std::string nodes_conf = dir.file("nodes.conf");
  Activity activity;
  StopSignal stop;
  app::NodesConfWatch watch(nodes_conf, activity);
  watch.setWake(&stop);
  watch.ensure();
  state::StateView v;
  watch.describe(v);
  CHECK(v.watching);
  CHECK(v.nodes_conf_changes == 0);
  int64_t begin = monotonicMs();
  REQUIRE(files::writeAtomically(nodes_conf, "x\n"));
  CHECK_FALSE(stop.waitFor(5000));
  CHECK(monotonicMs() - begin < 4000);  // woken by the change, not by the timeout
  int64_t deadline = monotonicMs() + 5000;
  while (v.nodes_conf_changes == 0 && monotonicMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    watch.describe(v);
  }
  CHECK(v.nodes_conf_changes >= 1);
  CHECK(activity.errors.get(ErrorKind::NodesConfWatch) == 0);
  watch.stop();
  watch.describe(v);
  CHECK_FALSE(v.watching);
}

TEST_CASE("a directory that cannot be watched is counted once, then polling goes on") {
  Activity activity;
  app::NodesConfWatch watch("/nonexistent-rca-dir/nodes.conf", activity);
  watch.ensure();
  watch.ensure();
  state::StateView v;
  watch.describe(v);
  CHECK_FALSE(v.watching);
  CHECK(activity.errors.get(ErrorKind::NodesConfWatch) == 1);
}

namespace {

// The master fixture, answering INFO as `version` would.
cluster::Snapshot runningVersion(const std::string& version) {
  std::string info = agent::testing::readData("probes/master.info");
  std::string from = "redis_version:7.0.15";
  info.replace(info.find(from), from.size(), "redis_version:" + version);
  return *cluster::snapshotFromText(info, agent::testing::readData("probes/master.cluster-info"),
                                    agent::testing::readData("probes/master.cluster-nodes"));
}

}  // namespace

TEST_CASE("run acts only on a supported local server, and says once why it does not") {
  Activity activity;
  app::ServerGate gate(activity);
  CHECK(gate.allows(runningVersion("7.0.15")));
  for (int pass = 0; pass < 3; ++pass) CHECK_FALSE(gate.allows(runningVersion("5.0.1")));
  CHECK(activity.errors.get(ErrorKind::UnsupportedServer) == 1);
  state::StateView v;
  gate.describe(v);
  REQUIRE(v.server);
  CHECK(v.server->str() == "redis 5.0.1");
  CHECK(v.unsupported_server ==
        "Redis 5.0.1 is not supported: the agent needs Redis 7.0 or later, or Valkey 7.2 or "
        "later; upgrade the server, the agent does not act on this one");
  // Upgraded in place (a restart of the redis container): it acts again.
  CHECK(gate.allows(runningVersion("7.0.15")));
  gate.describe(v);
  CHECK(v.unsupported_server.empty());
  CHECK(v.server->version == "7.0.15");
}
