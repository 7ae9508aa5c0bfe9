// SPDX-License-Identifier: Apache-2.0
// The attention model's choices over a fake cluster and clock: which pods a pass probes when the
// local view is healthy, what the slow sweep adds, and when a look is repeated.
#include "cluster/attention.h"

#include <doctest/doctest.h>

#include "cluster/identity.h"
#include "support/fake_clock.h"
#include "support/fake_cluster.h"

using namespace agent;
using namespace agent::cluster;
using agent::testing::FakeClock;
using agent::testing::FakeCluster;
using agent::testing::simId;

namespace {

constexpr int kMe = 5;

struct Fixture {
  Fixture() : fake(FakeCluster::formed(6, 1)), attention(options(), clock) {
    fake.local = kMe;
    for (int i = 0; i < 6; ++i) map.set(fake.pods[static_cast<size_t>(i)].node_id, i, true);
  }

  static AttentionOptions options() {
    AttentionOptions o;
    o.my_ordinal = kMe;
    o.nodes = 6;
    o.sweep_ms = 30000;
    o.seed = 7;
    return o;
  }

  // One pass of the driver (app::ClusterDriver::look): the sweep when due, then the pods the
  // plan picks; returns them.
  std::vector<int> pass() {
    if (attention.sweepDue()) {
      attention.noteSweep(fake.probe({{}, Pods::Depth::Resolve, false, 300}));
    }
    auto focus = attention.plan(fake.snapshotOf(kMe), map, fake.last(), "");
    if (!focus.ordinals.empty()) {
      attention.noteRound(focus, fake.probe({focus.ordinals, Pods::Depth::Snapshot, true, 300}));
    }
    return focus.ordinals;
  }

  // Passes a second apart until the sweep has run; the pods probed on the way.
  std::vector<int> untilSweep() {
    std::vector<int> probed;
    for (int s = 0; s < 40; ++s) {
      bool sweep = attention.sweepDue();
      for (int k : pass()) probed.push_back(k);
      clock.advance(1000);
      if (sweep) break;
    }
    return probed;
  }

  FakeClock clock;
  FakeCluster fake;
  nodes_conf::OrdinalMap map;
  Attention attention;
};

bool contains(const std::vector<int>& v, int k) {
  return std::find(v.begin(), v.end(), k) != v.end();
}

}  // namespace

TEST_CASE("a healthy view costs no probe between sweeps") {
  Fixture f;
  for (int s = 0; s < 20; ++s) {
    CHECK(f.pass().empty());
    f.clock.advance(1000);
  }
}

TEST_CASE("a peer without a link is looked at in the same pass, then after 200, 400, 800 ms") {
  Fixture f;
  f.fake.seen(f.fake.pods[kMe].node_id, f.fake.pods[3].node_id).connected = false;
  CHECK(f.pass() == std::vector<int>{3});
  std::vector<int64_t> looked;
  for (int64_t t = 50; t <= 1500; t += 50) {
    f.clock.advance(50);
    if (!f.pass().empty()) looked.push_back(t);
  }
  CHECK(looked == std::vector<int64_t>{200, 600, 1400});
}

TEST_CASE("the sweep finds a name that leads elsewhere, and a look renews it once fixed") {
  Fixture f;
  const std::string wrong = f.fake.node(f.fake.pods[2].node_id).ip;
  f.fake.pods[3].dns_ip = wrong;  // only the name is wrong: every node stays linked
  auto probed = f.untilSweep();   // the sweep also samples one peer's own view
  CHECK(contains(probed, 3));
  CHECK(probed.size() <= 2);
  REQUIRE(identityConflicts(f.fake.last(), kMe, FakeCluster::kSet).size() == 1);
  CHECK(f.pass().empty());  // looked at once per answer, not every pass

  f.fake.pods[3].dns_ip.reset();
  probed = f.untilSweep();
  CHECK(contains(probed, 3));
  CHECK(identityConflicts(f.fake.last(), kMe, FakeCluster::kSet).empty());
}

namespace {

// An empty pod of a StatefulSet whose cluster does not exist yet (or does, when `formed`).
struct EmptyFixture {
  explicit EmptyFixture(bool formed)
      : fake(formed ? FakeCluster::formed(6, 1) : FakeCluster::fresh(6)),
        attention(Fixture::options(), clock) {
    if (formed) fake.wipe(kMe, simId(9));
    fake.local = kMe;
    attention.lookAtEverything("the local Redis was (re)connected");
  }

  // One pass of the driver without the sweep (it resolves names only): the pods probed.
  std::vector<int> pass() {
    auto focus = attention.plan(fake.snapshotOf(kMe), map, fake.last(), "");
    if (!focus.ordinals.empty()) {
      attention.noteRound(focus, fake.probe({focus.ordinals, Pods::Depth::Snapshot, true, 300}));
    }
    return focus.ordinals;
  }

  // Passes every 100 ms for `ms`; the times (ms from now) of those that probed a pod.
  std::vector<int64_t> probingPasses(int64_t ms) {
    std::vector<int64_t> at;
    for (int64_t t = 0; t < ms; t += 100) {
      if (!pass().empty()) at.push_back(t);
      clock.advance(100);
    }
    return at;
  }

  FakeClock clock;
  FakeCluster fake;
  nodes_conf::OrdinalMap map;
  Attention attention;
};

}  // namespace

TEST_CASE("an empty node that finds no cluster waits to be met: every pod every 8-12 s only") {
  EmptyFixture f(false);
  CHECK(f.pass().size() == 5);  // the look after the start
  CHECK(f.attention.waitingToBeMet() == false);
  auto at = f.probingPasses(60000);
  CHECK(f.attention.waitingToBeMet());
  REQUIRE(at.size() >= 4);
  REQUIRE(at.size() <= 7);
  int64_t before = 0;
  for (int64_t t : at) {
    CHECK(t - before >= 8000);
    CHECK(t - before <= 12100);
    before = t;
  }
  CHECK(f.attention.watched() == 0);  // no per-pod looks for pods without a known node
}

TEST_CASE("an empty node waiting to be met looks again in the very pass after a MEET") {
  EmptyFixture f(false);
  f.pass();
  f.probingPasses(3000);
  REQUIRE(f.attention.waitingToBeMet());
  REQUIRE(f.fake.command(0, {"CLUSTER", "MEET", "10.0.0.5", "6379"}));
  CHECK(f.pass().size() == 5);
  CHECK_FALSE(f.attention.waitingToBeMet());
}

TEST_CASE("an empty node that sees a peer in a cluster stops waiting at its next look") {
  EmptyFixture f(false);
  f.pass();
  f.probingPasses(1000);
  REQUIRE(f.attention.waitingToBeMet());
  // The others formed a cluster without this pod (it will join it); the next slow look sees it.
  REQUIRE(f.fake.command(1, {"CLUSTER", "MEET", "10.0.0.2", "6379"}));
  auto at = f.probingPasses(13000);
  REQUIRE_FALSE(at.empty());
  CHECK_FALSE(f.attention.waitingToBeMet());
  // From then on every pod is looked at every second at least, as before the wait.
  auto after = f.probingPasses(5000);
  CHECK(after.size() >= 5);
}

TEST_CASE("an empty node in a pod of an existing cluster never waits: it joins at full speed") {
  EmptyFixture f(true);
  CHECK(f.pass().size() == 5);
  auto at = f.probingPasses(5000);
  CHECK_FALSE(f.attention.waitingToBeMet());
  CHECK(at.size() >= 5);
}
