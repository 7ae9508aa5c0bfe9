// SPDX-License-Identifier: Apache-2.0
// The parts of `run` that need no Redis: the ordinal learner, the publisher and its phases,
// the watch of nodes.conf.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "app/nodes_conf_watch.h"
#include "app/ordinal_learner.h"
#include "app/publisher.h"
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

}  // namespace

TEST_CASE("the ordinal learner records a peer once it answered twice with one ID") {
  TempDir dir;
  std::string nodes_conf = dir.file("nodes.conf");
  app::OrdinalLearner learner(nodes_conf, 1, 3);
  std::optional<cluster::Snapshot> local = snapshotFixture("master");
  std::vector<cluster::PeerProbe> probes{probe(0, id('a')), probe(1, local->myId()),
                                         probe(2, id('c'))};
  learner.learn(local, probes);
  CHECK(learner.map().ordinalOf(local->myId()) == 1);  // itself: at once
  CHECK_FALSE(learner.map().ordinalOf(id('a')));       // a peer: not after one answer
  CHECK(files::exists(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)));
  probes[2].node_id = id('d');  // a different node answered at that name this time
  learner.learn(local, probes);
  CHECK(learner.map().ordinalOf(id('a')) == 0);
  CHECK_FALSE(learner.map().ordinalOf(id('c')));
  CHECK_FALSE(learner.map().ordinalOf(id('d')));
  // A restarted agent starts from the file.
  app::OrdinalLearner again(nodes_conf, 1, 3);
  CHECK(again.map().ordinalOf(id('a')) == 0);
}

TEST_CASE("the ordinal learner rewrites a map someone deleted") {
  TempDir dir;
  std::string nodes_conf = dir.file("nodes.conf");
  app::OrdinalLearner learner(nodes_conf, 0, 3);
  learner.learn(std::nullopt, {});
  REQUIRE(files::exists(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)));
  REQUIRE(files::remove(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)));
  learner.learn(std::nullopt, {});
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
