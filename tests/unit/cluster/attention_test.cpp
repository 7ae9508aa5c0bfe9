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
