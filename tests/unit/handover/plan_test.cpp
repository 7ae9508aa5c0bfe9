// SPDX-License-Identifier: Apache-2.0
#include "handover/plan.h"

#include <doctest/doctest.h>

#include "fake_shard.h"

using namespace agent;
using agent::testing::FakeShard;
using agent::testing::nodeId;

TEST_CASE("parseReplicaLink reads a slaveN field") {
  auto link = handover::parseReplicaLink("ip=10.1.2.3,port=6380,state=online,offset=4242,lag=1");
  REQUIRE(link.has_value());
  CHECK(link->ip == "10.1.2.3");
  CHECK(link->port == 6380);
  CHECK(link->state == "online");
  CHECK(link->offset == 4242);
  CHECK(link->lag == 1);
  CHECK_FALSE(handover::parseReplicaLink("state=online,offset=1").has_value());
  CHECK_FALSE(handover::parseReplicaLink("ip=10.1.2.3,port=x").has_value());
}

TEST_CASE("no handover from a replica, a master without slots, or a loading node") {
  FakeShard s = FakeShard::make(1);
  auto d = handover::decide(s.snapshot(1));
  CHECK_FALSE(d.hand_over);
  CHECK(d.reason.find("is a replica") != std::string::npos);

  s.nodes[0].slots.clear();
  d = handover::decide(s.snapshot(0));
  CHECK_FALSE(d.hand_over);
  CHECK(d.reason.find("without slots") != std::string::npos);

  s.nodes[0].loading = true;
  CHECK_FALSE(handover::decide(s.snapshot(0)).hand_over);
}

TEST_CASE("a master without replicas has nothing to hand over to") {
  FakeShard s = FakeShard::make(0);
  auto d = handover::decide(s.snapshot(0));
  CHECK_FALSE(d.hand_over);
  CHECK(d.reason.find("no healthy replica") != std::string::npos);
}

TEST_CASE("a replica the master cannot vouch for is ruled out") {
  struct Case {
    const char* name;
    void (*spoil)(testing::FakeNode&);
    const char* reason;
  };
  const Case cases[] = {
      {"failing", [](testing::FakeNode& n) { n.seen_flags = ",fail"; }, "flagged fail"},
      {"suspected", [](testing::FakeNode& n) { n.seen_flags = ",fail?"; }, "flagged fail?"},
      {"bus down", [](testing::FakeNode& n) { n.link = "disconnected"; }, "disconnected"},
      {"syncing", [](testing::FakeNode& n) { n.repl_state = "wait_bgsave"; }, "wait_bgsave"},
      {"not linked", [](testing::FakeNode& n) { n.listed_by_master = false; },
       "no replication link"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    FakeShard s = FakeShard::make(1);
    c.spoil(s.nodes[1]);
    auto d = handover::decide(s.snapshot(0));
    CHECK_FALSE(d.hand_over);
    CHECK(d.candidates.empty());
    CHECK(d.reason.find(c.reason) != std::string::npos);
  }
}

TEST_CASE("the most caught-up replica comes first; ties go by lag, then node ID") {
  FakeShard s = FakeShard::make(3);
  s.nodes[1].offset = 90;
  s.nodes[2].offset = 100;
  s.nodes[3].offset = 100;
  auto d = handover::decide(s.snapshot(0));
  REQUIRE(d.hand_over);
  REQUIRE(d.candidates.size() == 3);
  CHECK(d.candidates[0].id == nodeId('c'));  // offset 100, smaller ID than 'd'
  CHECK(d.candidates[1].id == nodeId('d'));
  CHECK(d.candidates[2].id == nodeId('b'));
  CHECK(d.candidates[0].host == "10.0.0.3");
  CHECK(d.candidates[0].port == 6379);
  CHECK(d.my_id == nodeId('a'));
  CHECK(d.reason.find("best replica is node cccccccc at 10.0.0.3:6379") != std::string::npos);
}

TEST_CASE("an unhealthy replica is skipped in favour of a healthy one") {
  FakeShard s = FakeShard::make(2);
  s.nodes[1].offset = 100;
  s.nodes[1].seen_flags = ",fail?";
  s.nodes[2].offset = 50;
  auto d = handover::decide(s.snapshot(0));
  REQUIRE(d.hand_over);
  REQUIRE(d.candidates.size() == 1);
  CHECK(d.candidates[0].id == nodeId('c'));
  CHECK(d.reason.find("ruled out: node bbbbbbbb") != std::string::npos);
}

TEST_CASE("replicaProblem checks the replica's own view") {
  FakeShard s = FakeShard::make(1);
  CHECK_FALSE(handover::replicaProblem(s.snapshot(1), nodeId('a')).has_value());
  CHECK(handover::replicaProblem(s.snapshot(1), nodeId('9')).value().find("follows") !=
        std::string::npos);
  CHECK(handover::replicaProblem(s.snapshot(0), nodeId('a')).value().find("not a replica") !=
        std::string::npos);
  s.nodes[1].link_up = false;
  CHECK(handover::replicaProblem(s.snapshot(1), nodeId('a')).value().find("link is down") !=
        std::string::npos);
  s.nodes[1].link_up = true;
  s.nodes[1].syncing = true;
  CHECK(handover::replicaProblem(s.snapshot(1), nodeId('a')).value().find("syncing") !=
        std::string::npos);
  s.nodes[1].syncing = false;
  s.nodes[0].seen_flags = ",fail?";
  CHECK(handover::replicaProblem(s.snapshot(1), nodeId('a')).value().find("failing") !=
        std::string::npos);
}

TEST_CASE("roles have switched only when both sides say so") {
  FakeShard s = FakeShard::make(1);
  CHECK_FALSE(handover::rolesSwitched(s.snapshot(0), s.snapshot(1), nodeId('b')));
  FakeShard promoted = s;
  promoted.promote(1);
  CHECK(handover::rolesSwitched(promoted.snapshot(0), promoted.snapshot(1), nodeId('b')));
  // The new master won, but the old one has not heard yet.
  CHECK_FALSE(handover::rolesSwitched(s.snapshot(0), promoted.snapshot(1), nodeId('b')));
  // The old master follows someone, but the replica has not taken the slots.
  CHECK_FALSE(handover::rolesSwitched(promoted.snapshot(0), s.snapshot(1), nodeId('b')));
}

TEST_CASE("caughtUp compares the master's offset with the replica's") {
  FakeShard s = FakeShard::make(1);
  CHECK(handover::caughtUp(s.snapshot(0), s.snapshot(1)));
  s.nodes[1].offset = 99;
  CHECK_FALSE(handover::caughtUp(s.snapshot(0), s.snapshot(1)));
  s.nodes[1].offset = 100;
  s.nodes[1].link_up = false;
  CHECK_FALSE(handover::caughtUp(s.snapshot(0), s.snapshot(1)));
}

TEST_CASE("forcing is blocked by an election that already ran, or by too little time") {
  CHECK_FALSE(handover::forceBlocker({3, 3, 5000, 1500}).has_value());
  auto voted = handover::forceBlocker({3, 5, 5000, 1500});
  REQUIRE(voted.has_value());
  CHECK(voted->find("2 x cluster-node-timeout") != std::string::npos);
  CHECK(handover::forceBlocker({0, 0, 1000, 1500}).has_value());
  FakeShard s = FakeShard::make(1);
  CHECK(handover::electionsStarted(s.snapshot(1)) == 0);
  s.nodes[1].auth_req_sent = 4;
  CHECK(handover::electionsStarted(s.snapshot(1)) == 4);
}
