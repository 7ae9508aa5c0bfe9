// SPDX-License-Identifier: Apache-2.0
// The migration engine against a small in-memory cluster: the order of the steps of one slot,
// MIGRATE's password, BUSYKEY (identical copies settled, differing ones left), smaller batches
// and longer timeouts after failures, and a rebalance stopped at every step and run again.
#include <doctest/doctest.h>

#include <tuple>

#include "fake_slots.h"
#include "migrate/mover.h"
#include "migrate/rebalance.h"

using namespace agent;
using namespace agent::migrate;
using agent::testing::FakeSlots;

namespace {

std::vector<std::string> ids(const FakeSlots& f) {
  std::vector<std::string> out;
  for (const auto& n : f.nodes) out.push_back(n.id);
  return out;
}

Peer peer(FakeSlots& f, size_t i) {
  return {f.nodes[i].id, f.nodes[i].host, f.nodes[i].port};
}

std::vector<std::string> texts(const FakeSlots& f) {
  std::vector<std::string> out;
  for (const auto& s : f.sent) out.push_back(s.text());
  return out;
}

Result<redis::Reply> transportError() {
  return fail(Errc::Transport, "connection lost");
}

}  // namespace

TEST_CASE(
    "one slot: IMPORTING on the target, MIGRATING on the source, batches, then NODE "
    "on the target (epoch bumped), the source and the others, in that order") {
  auto f = FakeSlots::split(2, 1, 3);  // 1: 0-8191, 2: 8192-16383, 3: empty
  Activity activity;
  SlotMover mover(f, activity, {.batch_keys = 2});
  REQUIRE(mover.move(5, peer(f, 0), peer(f, 2)));
  mover.announce({5}, peer(f, 0), peer(f, 2), ids(f));
  CHECK(texts(f) == std::vector<std::string>{
                        "3 CLUSTER SETSLOT 5 IMPORTING 1",
                        "1 CLUSTER SETSLOT 5 MIGRATING 3",
                        "1 CLUSTER GETKEYSINSLOT 5 2",
                        "1 MIGRATE 10.0.0.3 6379  0 5000 KEYS(2)",
                        "1 CLUSTER GETKEYSINSLOT 5 2",
                        "1 MIGRATE 10.0.0.3 6379  0 5000 KEYS(1)",
                        "1 CLUSTER GETKEYSINSLOT 5 2",
                        "3 INFO server",
                        "3 CLUSTER BUMPEPOCH",
                        "3 CLUSTER SETSLOT 5 NODE 3",
                        "1 CLUSTER SETSLOT 5 NODE 3",
                        "2 CLUSTER SETSLOT 5 NODE 3",
                    });
  CHECK(f.owner(5) == f.nodes[2].id);
  CHECK(f.nodes[2].keys[5].size() == 3);
  CHECK(f.openSlots() == 0);
  CHECK(activity.actions.get(Action::SlotMoved) == 1);
  CHECK(activity.actions.get(Action::KeysMoved) == 3);
  CHECK(mover.keysMoved() == 3);
}

TEST_CASE("the named stop points of a move come in order, at the same steps on both paths") {
  auto f = FakeSlots::split(2, 1, 3);  // 3 keys per slot, 2 per MIGRATE: one is left mid-batch
  Activity activity;
  SlotMover mover(f, activity, {.batch_keys = 2});
  using Seen = std::vector<std::tuple<std::string, int, std::string>>;
  Seen seen;  // point, slot, the last command sent
  mover.setHooks({[&](MovePoint point, int slot) {
    seen.emplace_back(movePointName(point), slot, texts(f).back());
  }});
  REQUIRE(mover.move(5, peer(f, 0), peer(f, 2)));
  CHECK(seen == Seen{
                    {"after-importing", 5, "3 CLUSTER SETSLOT 5 IMPORTING 1"},
                    {"after-open", 5, "1 CLUSTER SETSLOT 5 MIGRATING 3"},
                    {"mid-batch", 5, "1 CLUSTER GETKEYSINSLOT 5 2"},
                    {"before-setslot-node", 5, "1 CLUSTER GETKEYSINSLOT 5 2"},
                    {"after-setslot-target", 5, "3 CLUSTER SETSLOT 5 NODE 3"},
                });
  seen.clear();
  REQUIRE(mover.moveSlots({6, 7}, peer(f, 0), peer(f, 2)));
  CHECK(seen == Seen{
                    {"after-importing", 6, "3 CLUSTER SETSLOT 7 IMPORTING 1"},
                    {"after-open", 6, "1 CLUSTER SETSLOT 7 MIGRATING 3"},
                    {"mid-batch", 6, "1 CLUSTER GETKEYSINSLOT 7 2"},
                    {"before-setslot-node", 6, "1 MIGRATE 10.0.0.3 6379  0 5000 KEYS(1)"},
                    {"after-setslot-target", 6, "3 CLUSTER SETSLOT 7 NODE 3"},
                });
  for (const char* name : {"after-importing", "after-open", "mid-batch", "before-setslot-node",
                           "after-setslot-target"}) {
    CHECK(movePointName(*parseMovePoint(name)) == std::string(name));
  }
  CHECK_FALSE(parseMovePoint("after-lunch"));
}

TEST_CASE("MIGRATE authenticates with AUTH2 and marks the password secret; never REPLACE") {
  auto f = FakeSlots::split(1, 1, 1);
  f.password = "s3cret-pass";
  Activity activity;
  MoverOptions o;
  o.password = "s3cret-pass";
  SlotMover mover(f, activity, o);
  REQUIRE(mover.move(7, peer(f, 0), peer(f, 1)));
  int migrates = 0;
  for (const auto& s : f.sent) {
    CHECK(std::find(s.args.begin(), s.args.end(), "REPLACE") == s.args.end());
    if (s.args[0] != "MIGRATE") continue;
    ++migrates;
    REQUIRE(s.secret_args.size() == 1);
    CHECK(s.args.at(s.secret_args[0]) == "s3cret-pass");
    CHECK(s.args.at(s.secret_args[0] - 2) == "AUTH2");
    CHECK(s.args.at(s.secret_args[0] - 1) == "default");
    // The engine waits longer than MIGRATE's own timeout, so MIGRATE's IOERR comes first.
    CHECK(*s.timeout_ms > std::stoll(s.args[5]));
  }
  CHECK(migrates == 1);
  CHECK(f.nodes[1].keys[7].size() == 1);
}

TEST_CASE("BUSYKEY with identical copies: the source's copy is dropped and the move finishes") {
  auto f = FakeSlots::split(1, 1, 3);
  f.nodes[1].keys[9]["k9-1"] = "v";  // an earlier MIGRATE got there, its reply was lost
  Activity activity;
  SlotMover mover(f, activity, {});
  REQUIRE(mover.move(9, peer(f, 0), peer(f, 1)));
  CHECK(f.nodes[1].keys[9].size() == 3);
  CHECK(f.nodes[0].keys[9].empty());
  CHECK(f.owner(9) == f.nodes[1].id);
  CHECK(f.nodes[1].keys[9].at("k9-1") == "v");
  CHECK(f.texts("MIGRATE").size() == 1);  // nothing left once the identical copy is dropped
}

TEST_CASE("BUSYKEY with different copies: reported, both kept, the slot stays open") {
  auto f = FakeSlots::split(1, 1, 3);
  f.nodes[1].keys[9]["k9-1"] = "other";
  Activity activity;
  SlotMover mover(f, activity, {});
  auto moved = mover.move(9, peer(f, 0), peer(f, 1));
  REQUIRE_FALSE(moved);
  CHECK(moved.error().code == Errc::Refused);
  CHECK(moved.error().message.find("k9-1") != std::string::npos);
  CHECK(f.nodes[0].keys[9].at("k9-1") == "v");
  CHECK(f.nodes[1].keys[9].at("k9-1") == "other");
  CHECK(f.openSlots() == 2);
  CHECK(f.owner(9) == f.nodes[0].id);
  CHECK(activity.errors.get(ErrorKind::MigrateBusyKey) == 1);
  CHECK(f.texts("CLUSTER SETSLOT 9 NODE").empty());
}

TEST_CASE("a batch that times out is sent again in halves, down to one key") {
  auto f = FakeSlots::split(1, 1, 8);
  f.before = [](const std::string&,
                const std::vector<std::string>& args) -> std::optional<Result<redis::Reply>> {
    size_t keys = args.size() - (std::find(args.begin(), args.end(), "KEYS") - args.begin()) - 1;
    if (args[0] == "MIGRATE" && keys > 2) return fail(Errc::Server, "IOERR error or timeout");
    return std::nullopt;
  };
  Activity activity;
  SlotMover mover(f, activity, {.batch_keys = 8});
  REQUIRE(mover.move(3, peer(f, 0), peer(f, 1)));
  CHECK(f.nodes[1].keys[3].size() == 8);
  CHECK(f.nodes[0].keys[3].empty());
  CHECK(activity.errors.get(ErrorKind::MigrateRetried) == 2);  // 8 -> 4 -> 2
  CHECK(f.texts("CLUSTER GETKEYSINSLOT 3 2").size() == 5);     // 4 batches of 2, then empty
}

TEST_CASE("a big key that times out alone is retried with a longer timeout, then given up") {
  auto f = FakeSlots::split(1, 1, 1);
  int failures = 2;
  f.before = [&](const std::string&,
                 const std::vector<std::string>& args) -> std::optional<Result<redis::Reply>> {
    if (args[0] == "MIGRATE" && failures-- > 0) return fail(Errc::Timeout, "timed out");
    return std::nullopt;
  };
  Activity activity;
  SlotMover mover(f, activity, {.batch_keys = 10, .migrate_timeout_ms = 1000});
  REQUIRE(mover.move(3, peer(f, 0), peer(f, 1)));
  auto sent = f.texts("MIGRATE");
  REQUIRE(sent.size() == 3);
  CHECK(sent[2].find(" 4000 ") != std::string::npos);  // 1000 -> 2000 -> 4000

  auto g = FakeSlots::split(1, 1, 1);
  g.before = [](const std::string&,
                const std::vector<std::string>& args) -> std::optional<Result<redis::Reply>> {
    if (args[0] == "MIGRATE") return fail(Errc::Server, "IOERR error or timeout");
    return std::nullopt;
  };
  SlotMover stuck(g, activity, {.retries = 2});
  auto moved = stuck.move(3, peer(g, 0), peer(g, 1));
  REQUIRE_FALSE(moved);
  CHECK(g.nodes[0].keys[3].size() == 1);  // nothing lost
  CHECK(g.openSlots() == 2);              // left open for the next run
}

TEST_CASE("rebalance 3 -> 4 masters: even shares, every key kept and on its owner") {
  auto f = FakeSlots::split(3, 1, 1);
  auto before = f.allKeys();
  Activity activity;
  RebalanceOptions o;
  o.mover.batch_keys = 10;
  auto report = rebalance(f, f.peers(), o, activity);
  REQUIRE(report);
  CHECK(report->progress.slots_done == 4096);
  CHECK(report->progress.keys_moved == 4096);
  CHECK(f.nodes[3].owned.size() == 4096);
  for (const auto& n : f.nodes) CHECK(n.owned.size() == 4096);
  CHECK(f.allKeys() == before);
  CHECK(f.keysOnOwners());
  CHECK(f.openSlots() == 0);
  auto again = rebalance(f, f.peers(), o, activity);  // nothing left to do
  REQUIRE(again);
  CHECK(again->plan.moves.empty());
}

TEST_CASE("rebalance refuses while a master does not know the new one yet") {
  auto f = FakeSlots::split(3, 1, 1);
  f.nodes[1].hidden.insert(f.nodes[3].id);
  Activity activity;
  auto report = rebalance(f, f.peers(), {}, activity);
  REQUIRE_FALSE(report);
  CHECK(report.error().code == Errc::Refused);
  CHECK(report.error().message.find("do not agree") != std::string::npos);
  CHECK(f.texts("CLUSTER SETSLOT").empty());
}

TEST_CASE("a rebalance stopped at any step of a slot is finished by the next run") {
  // Each point stops the engine right before the named command: from there on nothing it
  // sends arrives (the process is gone).
  struct Stop {
    std::string name;
    std::string prefix;
    int nth;        // the nth command with that prefix (1-based)
    int open_left;  // 1: the stop leaves slots open (this model: the target's claim wins at once)
  };
  const std::vector<Stop> stops = {
      {"after IMPORTING", "CLUSTER SETSLOT 16383 MIGRATING", 1, 1},
      {"after MIGRATING", "MIGRATE", 1, 1},
      {"mid-batch", "MIGRATE", 2, 1},
      {"before NODE on the target", "CLUSTER SETSLOT 16383 NODE", 1, 1},
      {"after NODE on the target", "CLUSTER SETSLOT 16383 NODE", 2, 1},
      {"after NODE on the source", "CLUSTER SETSLOT 16383 NODE", 3, 0},
  };
  for (const auto& stop : stops) {
    CAPTURE(stop.name);
    auto f = FakeSlots::split(3, 1, 2);
    auto keys = f.allKeys();
    int seen = 0;
    bool dead = false;
    f.before = [&](const std::string& id,
                   const std::vector<std::string>& args) -> std::optional<Result<redis::Reply>> {
      FakeSlots::Sent s{id, args, {}, {}};
      std::string t = s.text().substr(2);
      if (t.rfind(stop.prefix, 0) == 0 && ++seen == stop.nth) dead = true;
      if (dead) return transportError();
      return std::nullopt;
    };
    Activity activity;
    RebalanceOptions o;
    o.mover.batch_keys = 1;
    REQUIRE_FALSE(rebalance(f, f.peers(), o, activity));
    f.before = nullptr;
    auto report = rebalance(f, f.peers(), o, activity);
    REQUIRE(report);
    // Slots move in batches: a stop leaves the whole batch open, or none of it.
    CHECK((report->repaired > 0) == (stop.open_left > 0));
    CHECK(f.openSlots() == 0);
    CHECK(f.allKeys() == keys);
    CHECK(f.keysOnOwners());
    for (const auto& n : f.nodes) CHECK(n.owned.size() == 4096);
  }
}

TEST_CASE("open slots are finished from where they stopped") {
  auto f = FakeSlots::split(3, 1, 2);
  const auto& a = f.nodes[0].id;
  const auto& d = f.nodes[3].id;
  // Slot 1: both sides open, one key already moved. Slot 2: only the target imports.
  f.nodes[3].importing[1] = a;
  f.nodes[0].migrating[1] = d;
  f.nodes[3].keys[1]["k1-0"] = f.nodes[0].keys[1].at("k1-0");
  f.nodes[0].keys[1].erase("k1-0");
  f.nodes[3].importing[2] = a;
  Activity activity;
  auto masters = readMasters(f, f.peers());
  REQUIRE(masters);
  auto repairs = planRepairs(*masters);
  REQUIRE(repairs);
  REQUIRE(repairs->size() == 2);
  CHECK((*repairs)[0].phase == Phase::Open);
  CHECK((*repairs)[1].from == a);
  auto report = rebalance(f, f.peers(), {}, activity);
  REQUIRE(report);
  CHECK(report->repaired == 2);
  CHECK(activity.actions.get(Action::SlotRepaired) == 2);
  CHECK(f.openSlots() == 0);
  CHECK(f.keysOnOwners());
}

TEST_CASE("an open slot owned by a third master is reported and nothing is changed") {
  auto f = FakeSlots::split(3, 1, 1);
  f.nodes[3].importing[8000] = f.nodes[0].id;  // 8000 belongs to the second master
  Activity activity;
  auto report = rebalance(f, f.peers(), {}, activity);
  REQUIRE_FALSE(report);
  CHECK(report.error().code == Errc::Refused);
  CHECK(report.error().message.find("slot 8000") != std::string::npos);
  CHECK(f.texts("CLUSTER SETSLOT").empty());
  CHECK(f.texts("MIGRATE").empty());
}

TEST_CASE("rebalance waits for a master that is not ok yet, and refuses once the wait is over") {
  auto f = FakeSlots::split(3, 1, 1);
  f.nodes[3].state_ok = false;  // just added: still in its rejoin delay
  Activity activity;
  RebalanceOptions o;
  o.wait_ready_ms = 2000;
  int64_t slept = 0;
  o.sleep = [&](int64_t ms) {
    slept += ms;
    if (slept >= 1000) f.nodes[3].state_ok = true;
  };
  auto report = rebalance(f, f.peers(), o, activity);
  REQUIRE(report);
  CHECK(slept == 1000);
  CHECK(f.nodes[3].owned.size() == 4096);

  auto g = FakeSlots::split(3, 1, 1);
  g.nodes[3].state_ok = false;
  slept = 0;
  o.sleep = [&](int64_t ms) { slept += ms; };
  auto refused = rebalance(g, g.peers(), o, activity);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("cluster_state:ok") != std::string::npos);
  CHECK(slept == 2000);
  CHECK(g.texts("CLUSTER SETSLOT").empty());
}

TEST_CASE("a node the seed listed as a master but that is a replica by now takes no part") {
  auto f = FakeSlots::split(3, 2, 1);
  f.nodes[4].master = false;  // add-node --cluster-slave: joined as a master, then replicated
  Activity activity;
  auto report = rebalance(f, f.peers(), {}, activity);  // peers() lists it: it was a master
  REQUIRE(report);
  for (size_t i = 0; i < 4; ++i) CHECK(f.nodes[i].owned.size() == 4096);
  CHECK(f.nodes[4].owned.empty());
  for (const auto& s : f.sent) CHECK((s.id != f.nodes[4].id || s.args[1] == "NODES"));
}

TEST_CASE("slots moved together: each step pipelined for all of them, in the same order") {
  auto f = FakeSlots::split(2, 1, 1);  // one key per slot: each slot drains in one MIGRATE
  Activity activity;
  SlotMover mover(f, activity, {.batch_keys = 10});
  REQUIRE(mover.moveSlots({5, 6}, peer(f, 0), peer(f, 2)));
  mover.announce({5, 6}, peer(f, 0), peer(f, 2), ids(f));
  CHECK(texts(f) == std::vector<std::string>{
                        "3 CLUSTER SETSLOT 5 IMPORTING 1",
                        "3 CLUSTER SETSLOT 6 IMPORTING 1",
                        "1 CLUSTER SETSLOT 5 MIGRATING 3",
                        "1 CLUSTER SETSLOT 6 MIGRATING 3",
                        "1 CLUSTER GETKEYSINSLOT 5 10",
                        "1 CLUSTER GETKEYSINSLOT 6 10",
                        "1 MIGRATE 10.0.0.3 6379  0 5000 KEYS(1)",
                        "1 MIGRATE 10.0.0.3 6379  0 5000 KEYS(1)",
                        "3 INFO server",
                        "3 CLUSTER BUMPEPOCH",
                        "3 CLUSTER SETSLOT 5 STABLE",
                        "3 CLUSTER SETSLOT 5 NODE 3",
                        "3 CLUSTER SETSLOT 6 NODE 3",
                        "1 CLUSTER SETSLOT 5 NODE 3",
                        "1 CLUSTER SETSLOT 6 NODE 3",
                        "2 CLUSTER SETSLOT 5 NODE 3",
                        "2 CLUSTER SETSLOT 6 NODE 3",
                    });
  CHECK(f.openSlots() == 0);
  CHECK(activity.actions.get(Action::SlotMoved) == 2);
}

TEST_CASE("a source that closes the connection after its SETSLOT NODE: fine only if it let go") {
  auto f = FakeSlots::split(2, 1, 1);
  const std::string source = f.nodes[0].id;
  auto lose_after = [&](const std::string& slot) {
    f.lose_reply = [&, slot](const std::string& id, const std::vector<std::string>& args) {
      return id == source && args[1] == "SETSLOT" && args[2] == slot && args[3] == "NODE";
    };
  };
  Activity activity;
  SlotMover mover(f, activity, {.batch_keys = 10});
  lose_after("6");  // the last of the batch: every NODE was applied, as Valkey does
  REQUIRE(mover.moveSlots({5, 6}, peer(f, 0), peer(f, 2)));
  CHECK(f.owner(5) == f.nodes[2].id);
  CHECK(f.owner(6) == f.nodes[2].id);
  CHECK(f.openSlots() == 0);

  // A source that cannot be asked afterwards may still claim the slots: not done.
  lose_after("7");
  f.before = [&](const std::string& id,
                 const std::vector<std::string>& args) -> std::optional<Result<redis::Reply>> {
    if (id == source && args[1] == "NODES") return fail(Errc::Transport, "connection refused");
    return std::nullopt;
  };
  auto cut = mover.moveSlots({7, 8}, peer(f, 0), peer(f, 2));
  REQUIRE_FALSE(cut);
  CHECK(cut.error().code == Errc::Transport);
  f.lose_reply = nullptr;
  f.before = nullptr;
  REQUIRE(mover.move(8, peer(f, 0), peer(f, 2), Phase::Drain));
  CHECK(f.owner(8) == f.nodes[2].id);
  CHECK(f.openSlots() == 0);
}

TEST_CASE("slots moved together: a slot whose MIGRATE times out is drained on its own") {
  auto f = FakeSlots::split(1, 1, 6);
  int fails = 1;
  f.before = [&](const std::string&,
                 const std::vector<std::string>& args) -> std::optional<Result<redis::Reply>> {
    if (args[0] == "MIGRATE" && fails-- > 0) return fail(Errc::Server, "IOERR error or timeout");
    return std::nullopt;
  };
  Activity activity;
  SlotMover mover(f, activity, {.batch_keys = 4});
  REQUIRE(mover.moveSlots({1, 2, 3}, peer(f, 0), peer(f, 1)));
  for (int s : {1, 2, 3}) CHECK(f.nodes[1].keys[s].size() == 6);
  CHECK(f.openSlots() == 0);
  CHECK(activity.errors.get(ErrorKind::MigrateRetried) == 1);
  CHECK(f.keysOnOwners());
}

TEST_CASE("on Valkey, slots move only once every replica of a master is online") {
  // Valkey copies SETSLOT only to online replicas: one still syncing would miss the final NODE.
  auto f = FakeSlots::split(3, 2, 1);
  f.nodes[4].master = false;
  f.nodes[4].replica_of = f.nodes[0].id;
  for (auto& n : f.nodes) n.valkey = true;
  f.nodes[0].replicas_info = "slave0:ip=10.0.0.5,port=6379,state=wait_bgsave,offset=0,lag=0\r\n";
  Activity activity;
  RebalanceOptions o;
  o.wait_ready_ms = 1000;
  int64_t slept = 0;
  o.sleep = [&](int64_t ms) { slept += ms; };
  auto refused = rebalance(f, f.peers(), o, activity);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::Refused);
  CHECK(refused.error().message.find("1 replica(s) in the cluster but 0 online") !=
        std::string::npos);
  CHECK(slept == 1000);
  CHECK(f.texts("CLUSTER SETSLOT").empty());

  f.nodes[0].replicas_info = "slave0:ip=10.0.0.5,port=6379,state=online,offset=9,lag=0\r\n";
  REQUIRE(rebalance(f, f.peers(), o, activity));
  for (size_t i = 0; i < 4; ++i) CHECK(f.nodes[i].owned.size() == 4096);

  // Redis copies no slot state: a syncing replica does not hold the move back.
  auto g = FakeSlots::split(3, 2, 1);
  g.nodes[4].master = false;
  g.nodes[4].replica_of = g.nodes[0].id;
  g.nodes[0].replicas_info = "slave0:ip=10.0.0.5,port=6379,state=wait_bgsave,offset=0,lag=0\r\n";
  REQUIRE(rebalance(g, g.peers(), o, activity));
}
