// SPDX-License-Identifier: Apache-2.0
#include "migrate/plan.h"

#include <algorithm>
#include <map>
#include <set>

namespace agent::migrate {

namespace {

struct Share {
  std::string id;
  int have = 0;
  int want = 0;
};

std::vector<std::string> unique(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

int totalSlots(const std::vector<MasterSlots>& masters) {
  int total = 0;
  for (const auto& m : masters) total += static_cast<int>(m.slots.size());
  return total;
}

// What each master owns and should own. The extra slots of an uneven division go to the
// targets that own the most already: that is what keeps the number of moved slots smallest.
std::vector<Share> shares(const std::vector<MasterSlots>& masters,
                          const std::vector<std::string>& targets, int total) {
  std::map<std::string, int> have;
  for (const auto& m : masters) have[m.id] += static_cast<int>(m.slots.size());
  std::vector<Share> wanted;
  wanted.reserve(targets.size() + have.size());
  for (const auto& id : targets) wanted.push_back({id, have[id], 0});
  std::stable_sort(wanted.begin(), wanted.end(), [](const Share& a, const Share& b) {
    return a.have != b.have ? a.have > b.have : a.id < b.id;
  });
  const int n = static_cast<int>(wanted.size());
  for (int i = 0; i < n; ++i) {
    wanted[static_cast<size_t>(i)].want = total / n + (i < total % n ? 1 : 0);
  }
  std::set<std::string> is_target(targets.begin(), targets.end());
  for (const auto& [id, count] : have) {
    if (is_target.count(id) == 0) wanted.push_back({id, count, 0});
  }
  return wanted;
}

// The slots a source gives: the top `count` of its own, ascending.
std::vector<int> given(const std::vector<MasterSlots>& masters, const std::string& id, int count) {
  std::vector<int> all;
  for (const auto& m : masters) {
    if (m.id == id) all.insert(all.end(), m.slots.begin(), m.slots.end());
  }
  std::sort(all.begin(), all.end());
  return {all.end() - count, all.end()};
}

// Pairs the largest surplus with the largest deficit until both run out: every slot moves once
// and there are at most sources + targets - 1 pairs.
std::vector<Move> pairUp(const std::vector<MasterSlots>& masters, std::vector<Share> shares) {
  std::vector<Share> sources;
  std::vector<Share> sinks;
  for (const auto& s : shares) {
    if (s.have > s.want) sources.push_back(s);
    if (s.have < s.want) sinks.push_back(s);
  }
  auto by_gap = [](const Share& a, const Share& b) {
    int ga = std::abs(a.have - a.want);
    int gb = std::abs(b.have - b.want);
    return ga != gb ? ga > gb : a.id < b.id;
  };
  std::sort(sources.begin(), sources.end(), by_gap);
  std::sort(sinks.begin(), sinks.end(), by_gap);
  std::vector<Move> moves;
  size_t j = 0;
  for (const auto& src : sources) {
    std::vector<int> out = given(masters, src.id, src.have - src.want);
    size_t next = 0;
    while (next < out.size() && j < sinks.size()) {
      Share& sink = sinks[j];
      size_t n = std::min(out.size() - next, static_cast<size_t>(sink.want - sink.have));
      moves.push_back(
          {src.id,
           sink.id,
           {out.begin() + static_cast<long>(next), out.begin() + static_cast<long>(next + n)}});
      next += n;
      sink.have += static_cast<int>(n);
      if (sink.have == sink.want) ++j;
    }
  }
  std::stable_sort(moves.begin(), moves.end(),
                   [](const Move& a, const Move& b) { return a.slots.size() > b.slots.size(); });
  return moves;
}

}  // namespace

int Plan::slotsToMove() const {
  int n = 0;
  for (const auto& m : moves) n += static_cast<int>(m.slots.size());
  return n;
}

int tolerance(int ideal) {
  return std::max(1, ideal / 100);
}

bool isBalanced(const std::vector<MasterSlots>& masters, const std::vector<std::string>& targets) {
  const auto wanted = unique(targets);
  const int total = totalSlots(masters);
  if (wanted.empty()) return total == 0;
  const int ideal = total / static_cast<int>(wanted.size());
  std::set<std::string> is_target(wanted.begin(), wanted.end());
  for (const auto& s : shares(masters, wanted, total)) {
    bool ok =
        is_target.count(s.id) != 0 ? std::abs(s.have - ideal) <= tolerance(ideal) : s.have == 0;
    if (!ok) return false;
  }
  return true;
}

Plan planMoves(const std::vector<MasterSlots>& masters, const std::vector<std::string>& targets) {
  Plan plan;
  const auto wanted = unique(targets);
  plan.total_slots = totalSlots(masters);
  plan.ideal = wanted.empty() ? 0 : plan.total_slots / static_cast<int>(wanted.size());
  plan.tolerance = tolerance(plan.ideal);
  plan.balanced = isBalanced(masters, wanted);
  if (plan.balanced || wanted.empty()) return plan;
  plan.moves = pairUp(masters, shares(masters, wanted, plan.total_slots));
  return plan;
}

}  // namespace agent::migrate
