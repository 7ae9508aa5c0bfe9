// SPDX-License-Identifier: Apache-2.0
// Source -> target pairs moved at the same time (RebalanceOptions::parallel): every pair runs
// on its own thread and seam, each slot keeps its step order, progress and counters add up, and
// a failure of one pair leaves only its own batch open, which the next run finishes. The in-memory
// cluster is shared by the seams under one lock, as the real nodes serialize the commands of all
// connections.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

#include "fake_slots.h"
#include "migrate/rebalance.h"

using namespace agent;
using namespace agent::migrate;
using agent::testing::FakeSlots;

namespace {

// What the seams of one test share: the cluster, its lock, and a rendezvous that holds each
// seam's first IMPORTING until `wanted` seams have arrived (or a second passed): only pairs in
// flight at the same time all get there.
struct Shared {
  Shared(FakeSlots& c, size_t w) : cluster(c), wanted(w) {}
  FakeSlots& cluster;
  size_t wanted;
  std::mutex mu;
  std::condition_variable arrived;
  std::set<const void*> seams_seen;
  size_t seams_met = 0;  // how many seams were there when the first one was let go
};

class LockedSeam final : public Nodes {
 public:
  explicit LockedSeam(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  Result<std::vector<Result<redis::Reply>>> pipeline(
      const std::string& id, const std::vector<std::vector<std::string>>& commands,
      const redis::CommandOptions& options) override {
    std::unique_lock lock(shared_->mu);
    if (!met_ && commands.front().size() > 3 && commands.front()[3] == "IMPORTING") {
      met_ = true;
      shared_->seams_seen.insert(this);
      shared_->arrived.notify_all();
      shared_->arrived.wait_for(lock, std::chrono::seconds(1),
                                [&] { return shared_->seams_seen.size() >= shared_->wanted; });
      if (shared_->seams_met == 0) shared_->seams_met = shared_->seams_seen.size();
    }
    return shared_->cluster.pipeline(id, commands, options);
  }

  std::unique_ptr<Nodes> another() override { return std::make_unique<LockedSeam>(shared_); }

 private:
  std::shared_ptr<Shared> shared_;
  bool met_ = false;
};

// Position of the first command whose text is `text`, or -1.
long position(const FakeSlots& f, const std::string& text) {
  for (size_t i = 0; i < f.sent.size(); ++i) {
    if (f.sent[i].text() == text) return static_cast<long>(i);
  }
  return -1;
}

}  // namespace

TEST_CASE("rebalance 3 -> 4 with three pairs at once: all in flight together, nothing lost") {
  auto f = FakeSlots::split(3, 1, 1);
  auto before = f.allKeys();
  auto shared = std::make_shared<Shared>(f, 3);
  LockedSeam seam(shared);
  Activity activity;
  RebalanceOptions o;
  o.parallel = 3;
  int last_done = 0;
  bool monotonic = true;
  o.on_progress = [&](const Progress& p) {  // never called twice at once: no lock needed
    monotonic = monotonic && p.slots_done > last_done;
    last_done = p.slots_done;
  };
  auto report = rebalance(seam, f.peers(), o, activity);
  REQUIRE(report);
  CHECK(shared->seams_met == 3);  // every pair had opened a batch before any moved on
  CHECK(monotonic);
  CHECK(report->progress.slots_done == 4096);
  CHECK(report->progress.keys_moved == 4096);
  CHECK(activity.actions.get(Action::KeysMoved) == 4096);
  CHECK(activity.actions.get(Action::SlotMoved) == 4096);
  for (const auto& n : f.nodes) CHECK(n.owned.size() == 4096);
  CHECK(f.allKeys() == before);
  CHECK(f.keysOnOwners());
  CHECK(f.openSlots() == 0);
  // Each slot's owner change still reached the target first, then the source, then the others
  // (slot 5461 is the last of master 1's range, the first it gives away).
  long on_target = position(f, "4 CLUSTER SETSLOT 5460 NODE 4");
  long on_source = position(f, "1 CLUSTER SETSLOT 5460 NODE 4");
  long on_other = position(f, "2 CLUSTER SETSLOT 5460 NODE 4");
  CHECK(on_target >= 0);
  CHECK(on_target < on_source);
  CHECK(on_source < on_other);
}

TEST_CASE("a pair that fails: the others close their batches, the next run finishes all") {
  auto f = FakeSlots::split(3, 1, 1);
  auto before = f.allKeys();
  auto shared = std::make_shared<Shared>(f, 3);
  const std::string failing = f.nodes[1].id;
  f.before = [&](const std::string& id,
                 const std::vector<std::string>& args) -> std::optional<Result<redis::Reply>> {
    if (id == failing && args[0] == "MIGRATE") return fail(Errc::Server, "ERR refused by test");
    return std::nullopt;
  };
  LockedSeam seam(shared);
  Activity activity;
  RebalanceOptions o;
  o.parallel = 3;
  o.mover.slots_per_batch = 64;
  auto report = rebalance(seam, f.peers(), o, activity);
  REQUIRE_FALSE(report);
  CHECK(report.error().message.find("refused by test") != std::string::npos);
  CHECK(f.openSlots() == 2 * 64);  // only the failed batch is open, on its two nodes
  CHECK(activity.errors.get(ErrorKind::MigrateFailed) == 1);
  f.before = nullptr;
  auto again = rebalance(seam, f.peers(), o, activity);
  REQUIRE(again);
  CHECK(again->repaired > 0);  // the failed pair's batch was left open, and finished now
  for (const auto& n : f.nodes) CHECK(n.owned.size() == 4096);
  CHECK(f.allKeys() == before);
  CHECK(f.keysOnOwners());
  CHECK(f.openSlots() == 0);
}
