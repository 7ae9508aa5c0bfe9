// SPDX-License-Identifier: Apache-2.0
#include "cluster/timeout_boost.h"

#include <doctest/doctest.h>

#include "statefile/statefile.h"

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
