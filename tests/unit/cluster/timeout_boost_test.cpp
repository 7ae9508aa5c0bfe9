// SPDX-License-Identifier: Apache-2.0
#include "cluster/timeout_boost.h"

#include <doctest/doctest.h>

#include <memory>

#include "common/files.h"
#include "statefile/statefile.h"
#include "support/fake_clock.h"
#include "support/fake_cluster.h"
#include "support/fixtures.h"

using namespace agent;
using namespace agent::cluster;

namespace {

PeerProbe pod(const char* cluster_state) {
  PeerProbe p;
  p.ordinal = 0;
  p.node_id = std::string(40, 'a');
  auto snap =
      snapshotFromText("role:master\r\n", std::string("cluster_state:") + cluster_state + "\r\n",
                       std::string(40, 'a') +
                           " 10.0.0.1:6379@16379 myself,master - 0 0 "
                           "1 connected 0-5460\n");
  REQUIRE(snap);
  p.snapshot = *snap;
  return p;
}

}  // namespace

TEST_CASE("the record round-trips and names the configured value") {
  BoostRecord r{15000, 1000, 1764079308000};
  auto text = r.render();
  CHECK(text.find("configured 15000\n") != std::string::npos);
  auto back = BoostRecord::parse(text);
  REQUIRE(back);
  CHECK(back->configured_ms == 15000);
  CHECK(back->shortened_ms == 1000);
  CHECK(back->since_unix_ms == 1764079308000);
}

TEST_CASE("a damaged record is refused, never guessed at") {
  CHECK_FALSE(BoostRecord::parse(""));
  CHECK_FALSE(BoostRecord::parse("configured 15000\nshortened 1000\n"));  // no since
  CHECK_FALSE(BoostRecord::parse("configured 15000\nshortened 1000\nsince 1\nextra 2\n"));
  CHECK_FALSE(BoostRecord::parse("configured fifteen\nshortened 1000\nsince 1\n"));
  CHECK_FALSE(BoostRecord::parse("configured -5\nshortened 1000\nsince 1\n"));
  auto err = BoostRecord::parse("configured 15000 ms\nshortened 1000\nsince 1\n");
  REQUIRE_FALSE(err);
  CHECK(err.error().message.find("configured 15000 ms") != std::string::npos);
}

TEST_CASE("the record lives beside nodes.conf") {
  CHECK(statefile::pathBeside("/data/nodes.conf", statefile::kTimeoutBoost) ==
        "/data/nodes.timeout-boost");
}

TEST_CASE("a master gets its configured value back once it reports ok") {
  CHECK_FALSE(dueForRestore(pod("fail"), /*creating=*/true, 500));
  CHECK(dueForRestore(pod("ok"), /*creating=*/true, 500));
}

TEST_CASE("creation over or the deadline passed: every node is restored, ok or not") {
  CHECK(dueForRestore(pod("fail"), /*creating=*/false, 0));
  CHECK(dueForRestore(pod("fail"), /*creating=*/true, TimeoutBoost::kDeadlineMs));
  PeerProbe silent;
  CHECK_FALSE(dueForRestore(silent, /*creating=*/true, 0));
}

// The boost through the seam: a fake cluster whose masters answer CONFIG, a clock that moves
// only when told to.
namespace {

struct Boosted {
  Boosted() : fake(testing::FakeCluster::fresh(6)) {}

  std::string path() const {
    return statefile::pathBeside(dir.file("nodes.conf"), statefile::kTimeoutBoost);
  }
  std::unique_ptr<TimeoutBoost> make() {
    return std::make_unique<TimeoutBoost>(path(), fake, activity, clock);
  }
  std::vector<PeerProbe> probed() { return fake.probeAll(Pods::Depth::Snapshot); }

  testing::TempDir dir;
  testing::FakeClock clock;
  Activity activity;
  testing::FakeCluster fake;
};

const std::vector<int> kMasters = {0, 1, 2};

int64_t timeoutOf(testing::FakeCluster& fake, int ordinal) {
  return fake.nodeOf(ordinal).node_timeout_ms;
}

}  // namespace

TEST_CASE("shorten: the configured value is on disk before any node is touched") {
  Boosted b;
  auto boost = b.make();
  bool recorded_before_set = false;
  b.fake.on_command = [&](const testing::Sent& s) {
    if (s.args[0] == "CONFIG" && s.args[1] == "SET") recorded_before_set = files::exists(b.path());
  };
  boost->shorten(b.probed(), kMasters);
  CHECK(recorded_before_set);
  CHECK(boost->pending());
  for (int m : kMasters) CHECK(timeoutOf(b.fake, m) == 1000);
  for (int r : {3, 4, 5}) CHECK(timeoutOf(b.fake, r) == 15000);
  auto text = files::read(b.path());
  REQUIRE(text);
  auto record = BoostRecord::parse(*text);
  REQUIRE(record);
  CHECK(record->configured_ms == 15000);
  CHECK(record->shortened_ms == 1000);
  CHECK(record->since_unix_ms == b.clock.wallMs());
  CHECK(b.activity.actions.get(Action::NodeTimeoutShorten) == 3);
  // Once per process.
  b.fake.sent.clear();
  boost->shorten(b.probed(), kMasters);
  CHECK(b.fake.sent.empty());
}

TEST_CASE("shorten is skipped, creation going on unchanged, for each reason") {
  Boosted b;
  std::string path = b.path();
  SUBCASE("the masters disagree on their value") {
    b.fake.nodeOf(1).node_timeout_ms = 5000;
  }
  SUBCASE("it is already short") {
    for (int m : kMasters) b.fake.nodeOf(m).node_timeout_ms = 1000;
  }
  SUBCASE("CONFIG does not answer (renamed or refused)") {
    b.fake.script(2, "CONFIG GET", fail(Errc::Server, "ERR unknown command 'CONFIG'"));
  }
  SUBCASE("the record cannot be written") {
    path = b.dir.file("missing/nodes.timeout-boost");
  }
  TimeoutBoost boost(path, b.fake, b.activity, b.clock);
  boost.shorten(b.probed(), kMasters);
  CHECK(b.fake.count("CONFIG SET") == 0);
  CHECK_FALSE(boost.pending());
  CHECK_FALSE(files::exists(path));
}

TEST_CASE("restore: each master gets its value back once it reports ok, then the record goes") {
  Boosted b;
  auto boost = b.make();
  boost->shorten(b.probed(), kMasters);
  for (int i = 0; i < 6; ++i) b.fake.nodeOf(i).state = "ok";
  b.fake.nodeOf(0).state = "fail";
  b.fake.nodeOf(2).state = "fail";
  boost->restore(b.probed(), /*creating=*/true);
  CHECK(timeoutOf(b.fake, 1) == 15000);
  CHECK(timeoutOf(b.fake, 0) == 1000);
  CHECK(boost->pending());
  CHECK(files::exists(b.path()));
  b.fake.nodeOf(0).state = "ok";
  b.fake.nodeOf(2).state = "ok";
  b.fake.sent.clear();
  boost->restore(b.probed(), /*creating=*/true);
  CHECK(b.fake.count(1, "CONFIG") == 0);  // restored once, not asked again
  CHECK(timeoutOf(b.fake, 0) == 15000);
  CHECK(timeoutOf(b.fake, 2) == 15000);
  CHECK_FALSE(boost->pending());
  CHECK_FALSE(files::exists(b.path()));
  CHECK(b.activity.actions.get(Action::NodeTimeoutRestore) == 3);
}

TEST_CASE("restore when creation ends, or 10 s after shortening, whatever the state") {
  Boosted b;
  auto boost = b.make();
  boost->shorten(b.probed(), kMasters);
  for (int m : kMasters) b.fake.nodeOf(m).state = "fail";
  SUBCASE("creation over") {
    boost->restore(b.probed(), /*creating=*/false);
  }
  SUBCASE("deadline") {
    b.clock.advance(TimeoutBoost::kDeadlineMs - 1);
    boost->restore(b.probed(), /*creating=*/true);
    CHECK(timeoutOf(b.fake, 0) == 1000);
    b.clock.advance(1);
    boost->restore(b.probed(), /*creating=*/true);
  }
  for (int m : kMasters) CHECK(timeoutOf(b.fake, m) == 15000);
  CHECK_FALSE(boost->pending());
}

TEST_CASE("the record stays while a node does not answer, and an agent restarted restores") {
  Boosted b;
  b.make()->shorten(b.probed(), kMasters);  // and the agent dies
  b.fake.pods[2].answers = false;
  auto boost = b.make();
  CHECK(boost->pending());
  boost->restore(b.probed(), /*creating=*/false);
  CHECK(timeoutOf(b.fake, 0) == 15000);
  CHECK(boost->pending());
  CHECK(files::exists(b.path()));
  b.fake.pods[2].answers = true;
  boost->restore(b.probed(), /*creating=*/false);
  CHECK(timeoutOf(b.fake, 2) == 15000);
  CHECK_FALSE(boost->pending());
}

TEST_CASE("a node that runs another value than the shortened one is left as it is") {
  Boosted b;
  auto boost = b.make();
  boost->shorten(b.probed(), kMasters);
  b.fake.nodeOf(0).node_timeout_ms = 4000;  // someone set it meanwhile
  boost->restore(b.probed(), /*creating=*/false);
  CHECK(timeoutOf(b.fake, 0) == 4000);
  CHECK(b.fake.count(0, "CONFIG SET cluster-node-timeout 15000") == 0);
  CHECK_FALSE(boost->pending());
}

TEST_CASE("the record of 0.1.0 reads as today's") {
  auto old = BoostRecord::parse(
      "# redis-cluster-agent: cluster-node-timeout is shortened on the masters while the cluster\n"
      "# is created; the agent of ordinal 0 restores the configured value and removes this "
      "file.\nconfigured 15000\nshortened 1000\nsince 1764079308000\n");
  REQUIRE(old);
  CHECK(old->configured_ms == 15000);
  CHECK(old->since_unix_ms == 1764079308000);
}
