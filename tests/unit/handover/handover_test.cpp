// SPDX-License-Identifier: Apache-2.0
#include "handover/handover.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <set>

#include "fake_shard.h"

using namespace agent;
using agent::testing::FakeShard;
using agent::testing::nodeId;

namespace {

// How the fake replica answers CLUSTER FAILOVER.
enum class Failover { Switch, Refuse, Stall, StallAfterElection, WinUnheard };

// A scripted shard and a clock that only moves when the handover sleeps.
class FakeEnv final : public handover::Environment {
 public:
  explicit FakeEnv(FakeShard initial) : shard(std::move(initial)) {}

  FakeShard shard;
  int64_t now = 1000;
  Failover failover = Failover::Switch;
  bool force_switches = true;
  bool catches_up_when_paused = true;
  int64_t switch_delay_ms = 60;
  std::set<std::string> unreachable;
  std::vector<std::string> sent;  // "<node letter> <command>"
  bool paused = false;
  std::optional<int64_t> sync_done_at;  // replica b ends its first sync then
  // When the old master answered MOVED (clients still sending it the shard's keys); empty
  // with errorstats_known false: a server without INFO errorstats.
  std::vector<int64_t> moved_at;
  bool errorstats_known = true;

  Result<std::unique_ptr<handover::Node>> open(const std::string& host, int) override;
  int64_t nowMs() override { return now; }
  void sleepMs(int64_t ms) override { now += ms; }

  void settle() {
    if (sync_done_at && now >= *sync_done_at) {
      shard.nodes[1].repl_state = "online";
      shard.nodes[1].syncing = false;
      shard.nodes[1].link_up = true;
      sync_done_at.reset();
    }
    if (switch_at_ && now >= *switch_at_) {
      shard.promote(*switch_to_, failover != Failover::WinUnheard);
      switch_at_.reset();
    }
  }
  Result<redis::Reply> handle(size_t i, const std::vector<std::string>& args) {
    std::string line;
    for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
    sent.push_back(std::string(1, shard.nodes[i].id[0]) + " " + line);
    if (line == "CLUSTER FAILOVER") return failoverDefault(i);
    if (line == "CLUSTER FAILOVER FORCE") {
      if (force_switches) scheduleSwitch(i);
      return ok();
    }
    if (args[0] == "CLIENT" && args[1] == "PAUSE") {
      paused = true;
      // The news of the new master arrives while writes are paused here.
      if (failover == Failover::WinUnheard && shard.nodes[1].master) shard.demote(i, 1);
      if (catches_up_when_paused) {
        for (auto& n : shard.nodes) {
          if (!n.master) n.offset = shard.nodes[i].offset;
        }
      }
      return ok();
    }
    if (line == "INFO errorstats") {
      if (!errorstats_known) return fail(Errc::Server, "ERR unknown section");
      int64_t n =
          std::count_if(moved_at.begin(), moved_at.end(), [&](int64_t t) { return t <= now; });
      return redis::Reply{redis::Reply::Type::String,
                          "# Errorstats\r\nerrorstat_MOVED:count=" + std::to_string(n) + "\r\n",
                          0,
                          {}};
    }
    if (line == "CLIENT UNPAUSE") {
      paused = false;
      return ok();
    }
    return fail(Errc::Server, "ERR unknown command");
  }

 private:
  static redis::Reply ok() { return redis::Reply{redis::Reply::Type::Status, "OK", 0, {}}; }
  Result<redis::Reply> failoverDefault(size_t i) {
    switch (failover) {
      case Failover::Switch:
      case Failover::WinUnheard: scheduleSwitch(i); break;
      case Failover::Refuse: return fail(Errc::Server, "ERR Master is down or failed");
      case Failover::Stall: break;
      case Failover::StallAfterElection: shard.nodes[i].auth_req_sent += 2; break;
    }
    return ok();
  }
  void scheduleSwitch(size_t i) {
    switch_at_ = now + switch_delay_ms;
    switch_to_ = i;
  }
  std::optional<int64_t> switch_at_;
  std::optional<size_t> switch_to_;
};

class FakeNodeClient final : public handover::Node {
 public:
  FakeNodeClient(FakeEnv& env, size_t index) : env_(env), index_(index) {}
  Result<cluster::Snapshot> snapshot() override {
    env_.settle();
    return env_.shard.snapshot(index_);
  }
  Result<redis::Reply> command(const std::vector<std::string>& args) override {
    env_.settle();
    return env_.handle(index_, args);
  }

 private:
  FakeEnv& env_;
  size_t index_;
};

Result<std::unique_ptr<handover::Node>> FakeEnv::open(const std::string& host, int) {
  if (unreachable.count(host) != 0) return fail(Errc::Transport, host + ": connection refused");
  for (size_t i = 0; i < shard.nodes.size(); ++i) {
    if (shard.nodes[i].ip == host) {
      return std::unique_ptr<handover::Node>(std::make_unique<FakeNodeClient>(*this, i));
    }
  }
  return fail(Errc::Transport, host + ": no route");
}

struct Ran {
  handover::Outcome outcome;
  std::vector<std::string> steps;
};

Ran runOn(FakeEnv& env, int64_t timeout_ms = 20000, int64_t drain_max_ms = 0,
          int64_t drain_min_ms = 0) {
  handover::Options options{"10.0.0.1", 6379,         timeout_ms, 20,
                            true,       drain_max_ms, 300,        drain_min_ms};
  Ran r;
  r.outcome = handover::run(env, options, [&](const std::string& s) { r.steps.push_back(s); });
  return r;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("a master hands over to its replica and waits until roles have switched") {
  FakeEnv env(FakeShard::make(1));
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK_FALSE(r.outcome.forced);
  CHECK(r.outcome.elapsed_ms >= 60);
  CHECK(r.outcome.elapsed_ms < 200);
  CHECK(env.sent == std::vector<std::string>{"b CLUSTER FAILOVER"});
  CHECK(env.shard.nodes[0].follows == nodeId('b'));
  REQUIRE(r.steps.size() == 2);
  CHECK(r.steps[1].find("sending CLUSTER FAILOVER to node bbbbbbbb") == 0);
  CHECK(r.outcome.message.find("roles switched in 60 ms") == 0);
}

TEST_CASE("a second request after a handover skips (hooks run at least once)") {
  FakeEnv env(FakeShard::make(1));
  CHECK(runOn(env).outcome.kind == handover::Outcome::Kind::HandedOver);
  Ran again = runOn(env);
  CHECK(again.outcome.kind == handover::Outcome::Kind::Skipped);
  CHECK(env.sent.size() == 1);
}

TEST_CASE("replicas and masters without a replica return at once") {
  FakeEnv env(FakeShard::make(1));
  Ran r = runOn(env);
  REQUIRE(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  // Node a is a replica now.
  r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Skipped);
  CHECK(r.outcome.elapsed_ms == 0);
  FakeEnv lone(FakeShard::make(0));
  r = runOn(lone);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Skipped);
  CHECK(r.outcome.elapsed_ms == 0);
  CHECK(lone.sent.empty());
}

TEST_CASE("a replica in its first sync is waited for, then takes over") {
  FakeEnv env(FakeShard::make(1));
  SUBCASE("the master lists it as waiting for the RDB") {
    env.shard.nodes[1].repl_state = "wait_bgsave";
  }
  SUBCASE("the master lists it online, but it is still loading what it received") {
    env.shard.nodes[1].syncing = true;
  }
  env.sync_done_at = env.now + 4000;
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(r.outcome.elapsed_ms >= 4000);
  CHECK(r.outcome.elapsed_ms < 4300);
  CHECK(env.sent == std::vector<std::string>{"b CLUSTER FAILOVER"});
  CHECK(std::count_if(r.steps.begin(), r.steps.end(), [](const std::string& s) {
          return s.find("waiting for a replica to finish its sync") == 0;
        }) == 1);
}

TEST_CASE("a sync that does not end within the budget: skipped with time left for nothing") {
  FakeEnv env(FakeShard::make(1));
  env.shard.nodes[1].repl_state = "send_bulk";
  Ran r = runOn(env, 10000);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Skipped);
  CHECK(r.outcome.message.find("gave up waiting for a replica's sync") != std::string::npos);
  CHECK(r.outcome.elapsed_ms >= 10000 - handover::kSyncReserveMs);
  CHECK(r.outcome.elapsed_ms <= 10000 - handover::kSyncReserveMs + handover::kSyncPollMs);
  CHECK(env.sent.empty());
}

TEST_CASE("the best replica is skipped when it cannot be reached or disagrees") {
  FakeEnv env(FakeShard::make(2));
  env.shard.nodes[1].offset = 100;
  env.shard.nodes[2].offset = 90;
  SUBCASE("unreachable") {
    env.unreachable.insert("10.0.0.2");
  }
  SUBCASE("its link is down in its own view") {
    env.shard.nodes[1].link_up = false;
  }
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(env.sent == std::vector<std::string>{"c CLUSTER FAILOVER"});
  CHECK(r.steps[1].find("node bbbbbbbb at 10.0.0.2:6379 cannot take over") != std::string::npos);
}

TEST_CASE("no usable replica at all: skipped with the reason") {
  FakeEnv env(FakeShard::make(1));
  env.unreachable.insert("10.0.0.2");
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Skipped);
  CHECK(r.outcome.message.find("connection refused") != std::string::npos);
}

TEST_CASE("an unreachable local Redis is a failure") {
  FakeEnv env(FakeShard::make(1));
  env.unreachable.insert("10.0.0.1");
  CHECK(runOn(env).outcome.kind == handover::Outcome::Kind::Failed);
}

TEST_CASE(
    "a stalled manual failover falls back to FORCE only with writes paused and offsets equal") {
  FakeEnv env(FakeShard::make(1));
  env.failover = Failover::Stall;
  env.shard.nodes[1].offset = 95;  // behind until writes are paused
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(r.outcome.forced);
  CHECK(env.sent == std::vector<std::string>{"b CLUSTER FAILOVER", "a CLIENT PAUSE 14000 WRITE",
                                             "b CLUSTER FAILOVER FORCE", "a CLIENT UNPAUSE"});
  CHECK_FALSE(env.paused);
  // The default attempt was given Redis' own manual-failover window first.
  CHECK(r.outcome.elapsed_ms >= handover::kAttemptMs);
}

TEST_CASE("no FORCE when the replica does not catch up; writes are resumed") {
  FakeEnv env(FakeShard::make(1));
  env.failover = Failover::Stall;
  env.catches_up_when_paused = false;
  env.shard.nodes[1].offset = 95;
  Ran r = runOn(env, 10000);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Failed);
  CHECK(r.outcome.message.find("did not catch up") != std::string::npos);
  CHECK_FALSE(contains(env.sent, "b CLUSTER FAILOVER FORCE"));
  CHECK(env.sent.back() == "a CLIENT UNPAUSE");
  CHECK_FALSE(env.paused);
  CHECK(r.outcome.elapsed_ms <= 10000);
}

TEST_CASE("no FORCE after an election ran for the shard (vote lock)") {
  FakeEnv env(FakeShard::make(1));
  env.failover = Failover::StallAfterElection;
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Failed);
  CHECK(r.outcome.message.find("will not vote again") != std::string::npos);
  CHECK(env.sent == std::vector<std::string>{"b CLUSTER FAILOVER"});
}

TEST_CASE("a refused CLUSTER FAILOVER may be forced at once, under the same conditions") {
  FakeEnv env(FakeShard::make(1));
  env.failover = Failover::Refuse;
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(r.outcome.forced);
  CHECK(r.outcome.elapsed_ms < 1000);
}

TEST_CASE("FORCE disabled: a stalled failover fails within the budget") {
  FakeEnv env(FakeShard::make(1));
  env.failover = Failover::Stall;
  handover::Options options{"10.0.0.1", 6379, 3000, 20, false};
  auto outcome = handover::run(env, options, [](const std::string&) {});
  CHECK(outcome.kind == handover::Outcome::Kind::Failed);
  CHECK(outcome.elapsed_ms <= 3000);
  CHECK(env.sent == std::vector<std::string>{"b CLUSTER FAILOVER"});
}

TEST_CASE("too little budget left: no FORCE") {
  FakeEnv env(FakeShard::make(1));
  env.failover = Failover::Stall;
  Ran r = runOn(env, 6500);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Failed);
  CHECK(r.outcome.message.find("budget") != std::string::npos);
  CHECK(r.outcome.elapsed_ms <= 6500);
}

TEST_CASE("a replica that won while this node has not heard: writes stay paused until it has") {
  FakeEnv env(FakeShard::make(1));
  env.failover = Failover::WinUnheard;
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK_FALSE(r.outcome.forced);
  CHECK(env.sent == std::vector<std::string>{"b CLUSTER FAILOVER", "a CLIENT PAUSE 14000 WRITE",
                                             "a CLIENT UNPAUSE"});
  CHECK(env.shard.nodes[0].follows == nodeId('b'));
}

TEST_CASE("the handover may pick a replica older than the leaving master (Redis 5.0.1)") {
  // The master's pod is leaving and the older replica already holds the data: the old master
  // following it for the seconds until it stops is the direction that works.
  FakeEnv env(FakeShard::make(1));
  env.shard.nodes[1].redis_version = "5.0.1";
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(env.sent == std::vector<std::string>{"b CLUSTER FAILOVER"});
}

TEST_CASE("a master older than Redis 7.0 does not hand over: the agent does not act on it") {
  FakeEnv env(FakeShard::make(1));
  env.shard.nodes[0].redis_version = "6.2.14";
  Ran r = runOn(env);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Failed);
  CHECK(r.outcome.message.find("not handing over: Redis 6.2.14 is not supported") == 0);
  CHECK(env.sent.empty());
}

TEST_CASE("after the switch, the handover waits while clients are still redirected") {
  FakeEnv env(FakeShard::make(1));
  // The switch happens at 1060; clients keep hitting the old master until 1200.
  env.moved_at = {1070, 1100, 1150, 1200};
  Ran r = runOn(env, 20000, 2000);
  REQUIRE(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(r.outcome.elapsed_ms < 200);  // the switch itself
  CHECK(r.outcome.redirected >= 3);   // the first may come before the drain starts
  // Returns 300 ms after the last MOVED, not before, and not at the 2 s cap.
  CHECK(env.now >= 1200 + 300);
  CHECK(env.now < 1200 + 300 + 40);
  CHECK(r.steps.back().find("clients redirected to the new master: ") == 0);
}

TEST_CASE("the drain ends at its cap while MOVED keeps coming, and at once without errorstats") {
  FakeEnv env(FakeShard::make(1));
  for (int64_t t = 1060; t < 10000; t += 50) env.moved_at.push_back(t);
  Ran r = runOn(env, 20000, 2000);
  REQUIRE(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(r.outcome.drain_ms >= 2000);
  CHECK(r.outcome.drain_ms < 2100);
  CHECK(r.steps.back().find("(still coming)") != std::string::npos);

  FakeEnv old(FakeShard::make(1));
  old.errorstats_known = false;
  Ran q = runOn(old, 20000, 2000);
  REQUIRE(q.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(q.outcome.drain_ms == 0);
  CHECK(q.outcome.message.find("roles switched in 60 ms") == 0);
}

TEST_CASE("no drain after a skipped handover") {
  FakeEnv env(FakeShard::make(0));
  env.moved_at = {1010, 1020};
  Ran r = runOn(env, 20000, 2000);
  CHECK(r.outcome.kind == handover::Outcome::Kind::Skipped);
  CHECK(r.outcome.drain_ms == 0);
  CHECK(env.now == 1000);
}

TEST_CASE("the drain lasts its minimum even when no client was redirected yet") {
  // A client may come back to this node's keys after a quiet spell longer than drain_quiet_ms.
  FakeEnv env(FakeShard::make(1));
  env.moved_at = {1700};
  Ran r = runOn(env, 20000, 2500, 1000);
  REQUIRE(r.outcome.kind == handover::Outcome::Kind::HandedOver);
  CHECK(r.outcome.redirected == 1);
  CHECK(env.now >= 1700 + 300);
  CHECK(r.outcome.drain_ms >= 1000);
}
