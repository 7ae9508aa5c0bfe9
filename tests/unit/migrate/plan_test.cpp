// SPDX-License-Identifier: Apache-2.0
// The rebalance planner: even shares within tolerance, the fewest slots moved, one move per
// source -> target pair, drains, and nothing to do when nothing changes.
#include "migrate/plan.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

using namespace agent::migrate;

namespace {

constexpr int kSlots = 16384;

// `n` masters m0..m<n-1> splitting the slots like redis-cli's creation.
std::vector<MasterSlots> split(int n) {
  std::vector<MasterSlots> out;
  for (int i = 0; i < n; ++i) {
    MasterSlots m{"m" + std::to_string(i), {}};
    for (int s = i * kSlots / n; s < (i + 1) * kSlots / n; ++s) m.slots.push_back(s);
    out.push_back(m);
  }
  return out;
}

// The masters after the plan's moves.
std::map<std::string, std::set<int>> applied(const std::vector<MasterSlots>& masters,
                                             const Plan& plan) {
  std::map<std::string, std::set<int>> owned;
  for (const auto& m : masters) owned[m.id].insert(m.slots.begin(), m.slots.end());
  for (const auto& mv : plan.moves) {
    for (int s : mv.slots) {
      REQUIRE(owned[mv.from].erase(s) == 1);  // a source only gives slots it owns
      owned[mv.to].insert(s);
    }
  }
  return owned;
}

// The fewest slots any plan could move: whatever a master holds above what it may keep. With an
// uneven division `total % n` targets may keep one slot more than the others; giving those to
// the largest targets lowers the sum the most.
int surplus(const std::vector<MasterSlots>& masters, const std::vector<std::string>& targets) {
  int total = 0;
  std::map<std::string, int> have;
  for (const auto& m : masters) {
    total += static_cast<int>(m.slots.size());
    have[m.id] = static_cast<int>(m.slots.size());
  }
  int n = static_cast<int>(targets.size());
  std::vector<int> kept;
  for (const auto& t : targets) kept.push_back(have[t]);
  std::sort(kept.rbegin(), kept.rend());
  int out = 0;
  for (int i = 0; i < n; ++i) {
    out += std::max(0, kept[static_cast<size_t>(i)] - (total / n + (i < total % n ? 1 : 0)));
  }
  std::set<std::string> wanted(targets.begin(), targets.end());
  for (const auto& [id, count] : have) {
    if (wanted.count(id) == 0) out += count;
  }
  return out;
}

void checkEven(const std::map<std::string, std::set<int>>& owned,
               const std::vector<std::string>& targets) {
  std::set<std::string> wanted(targets.begin(), targets.end());
  int ideal = kSlots / static_cast<int>(targets.size());
  for (const auto& [id, slots] : owned) {
    int n = static_cast<int>(slots.size());
    if (wanted.count(id) != 0) {
      CHECK_MESSAGE(std::abs(n - ideal) <= 1, id << " owns " << n << ", ideal " << ideal);
    } else {
      CHECK_MESSAGE(n == 0, id << " should be drained but owns " << n);
    }
  }
}

void checkPairsUnique(const Plan& plan) {
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& mv : plan.moves) {
    CHECK(pairs.insert({mv.from, mv.to}).second);
    CHECK(!mv.slots.empty());
  }
}

}  // namespace

TEST_CASE("3 -> 4 masters (6 -> 8 pods): every master ends within one slot of 4096") {
  auto masters = split(3);
  masters.push_back({"m3", {}});
  std::vector<std::string> targets = {"m0", "m1", "m2", "m3"};
  auto plan = planMoves(masters, targets);
  CHECK_FALSE(plan.balanced);
  CHECK(plan.ideal == 4096);
  CHECK(plan.tolerance == 40);
  CHECK(plan.slotsToMove() == 4096);  // exactly what the new master lacks
  CHECK(plan.slotsToMove() == surplus(masters, targets));
  CHECK(plan.moves.size() == 3);  // one per old master, all to m3
  for (const auto& mv : plan.moves) CHECK(mv.to == "m3");
  checkPairsUnique(plan);
  checkEven(applied(masters, plan), targets);
}

TEST_CASE("a target absent from the masters owns nothing yet and gets its share") {
  auto masters = split(3);
  auto plan = planMoves(masters, {"m0", "m1", "m2", "new"});
  checkEven(applied(masters, plan), {"m0", "m1", "m2", "new"});
  CHECK(plan.slotsToMove() == 4096);
}

TEST_CASE("slots leave a source from the top of its ranges") {
  auto masters = split(3);
  masters.push_back({"m3", {}});
  auto plan = planMoves(masters, {"m0", "m1", "m2", "m3"});
  for (const auto& mv : plan.moves) {
    const auto& own = std::find_if(masters.begin(), masters.end(), [&](const MasterSlots& m) {
                        return m.id == mv.from;
                      })->slots;
    CHECK(mv.slots.back() == own.back());
    CHECK(mv.slots.back() - mv.slots.front() + 1 == static_cast<int>(mv.slots.size()));
  }
}

TEST_CASE("4 -> 3 masters: the master that goes is drained, the others share its slots") {
  auto masters = split(4);
  std::vector<std::string> targets = {"m0", "m1", "m2"};
  auto plan = planMoves(masters, targets);
  CHECK(plan.slotsToMove() == 4096);  // only m3's slots move
  for (const auto& mv : plan.moves) CHECK(mv.from == "m3");
  CHECK(plan.moves.size() == 3);
  checkPairsUnique(plan);
  checkEven(applied(masters, plan), targets);
}

TEST_CASE("replica-only changes (same masters) and an even cluster plan nothing") {
  auto masters = split(3);
  auto plan = planMoves(masters, {"m0", "m1", "m2"});
  CHECK(plan.balanced);
  CHECK(plan.moves.empty());
  CHECK(isBalanced(masters, {"m2", "m0", "m1", "m0"}));  // order and repeats do not matter
}

TEST_CASE("within 1% of the share is even enough; beyond it the cluster is evened out exactly") {
  // 4 masters, ideal 4096, tolerance 40.
  auto masters = split(4);
  std::vector<std::string> targets = {"m0", "m1", "m2", "m3"};
  auto shift = [&](int n) {
    auto m = split(4);
    for (int i = 0; i < n; ++i) {
      m[0].slots.push_back(m[1].slots.front());
      m[1].slots.erase(m[1].slots.begin());
    }
    std::sort(m[0].slots.begin(), m[0].slots.end());
    return m;
  };
  CHECK(planMoves(shift(40), targets).moves.empty());
  auto plan = planMoves(shift(41), targets);
  CHECK(plan.slotsToMove() == 41);
  auto owned = applied(shift(41), plan);
  for (const auto& [id, slots] : owned) CHECK(slots.size() == 4096);
}

TEST_CASE("the tolerance is 1% of the share, at least one slot") {
  CHECK(tolerance(4096) == 40);
  CHECK(tolerance(50) == 1);
  CHECK(tolerance(0) == 1);
}

TEST_CASE("uneven masters of every size reach even shares with the fewest slots moved") {
  // Masters of 1..7 plus new ones, with lopsided shares.
  for (int old_n = 1; old_n <= 7; ++old_n) {
    for (int new_n = 0; new_n <= 3; ++new_n) {
      auto masters = split(old_n);
      if (old_n > 1) {  // lopsided: m0 gives m1 a third of its slots
        auto& a = masters[0].slots;
        int n = static_cast<int>(a.size()) / 3;
        masters[1].slots.insert(masters[1].slots.begin(), a.end() - n, a.end());
        a.resize(a.size() - static_cast<size_t>(n));
      }
      std::vector<std::string> targets;
      for (const auto& m : masters) targets.push_back(m.id);
      for (int i = 0; i < new_n; ++i) targets.push_back("new" + std::to_string(i));
      CAPTURE(old_n);
      CAPTURE(new_n);
      auto plan = planMoves(masters, targets);
      if (plan.balanced) continue;
      CHECK(plan.slotsToMove() == surplus(masters, targets));
      checkPairsUnique(plan);
      checkEven(applied(masters, plan), targets);
    }
  }
}
