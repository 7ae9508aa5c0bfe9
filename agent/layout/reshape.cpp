// SPDX-License-Identifier: Apache-2.0
#include "layout/reshape.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "migrate/plan.h"

namespace agent::layout {

namespace {

std::vector<int> slotList(const nodes_conf::Node& n) {
  std::vector<int> out;
  for (const auto& r : n.slots) {
    for (int s = r.first; s <= r.last; ++s) out.push_back(s);
  }
  return out;
}

}  // namespace

Reshape assessReshape(const ReshapeInput& in) {
  Reshape out;
  if (in.view == nullptr || in.nodes <= 0 || in.replicas < 0) return out;
  out.target_masters = in.nodes / (in.replicas + 1);
  std::vector<migrate::MasterSlots> owners;
  std::vector<std::string> targets;  // staying masters with slots first, then empty ones
  std::vector<std::string> empty;
  for (const auto& n : in.view->nodes()) {
    if (!n.isMaster() || n.inHandshake()) continue;
    std::optional<int> ordinal = in.map != nullptr ? in.map->ordinalOf(n.id) : std::nullopt;
    bool staying = ordinal && *ordinal < in.nodes;
    if (n.slotCount() == 0) {
      // An empty master is a target unless it failed (a master its replica replaced).
      if (staying && !n.isFailed()) empty.push_back(n.id);
      continue;
    }
    if (!ordinal) return out;  // whose slots these are is not known: no number beats a wrong one
    ++out.masters_with_slots;
    owners.push_back({n.id, slotList(n)});
    if (staying) {
      targets.push_back(n.id);  // failed or not: it comes back, or its replica takes over
    } else {
      out.leaving_slots += n.slotCount();
    }
  }
  // An empty master beyond the shape's count is a new pod on its way to being a replica.
  for (auto& id : empty) {
    if (static_cast<int>(targets.size()) >= out.target_masters) break;
    targets.push_back(std::move(id));
  }
  // Masters the shape wants that have not joined yet own nothing: placeholders, so the count is
  // the whole scale's from its first pass.
  for (int k = static_cast<int>(targets.size()); k < out.target_masters; ++k) {
    targets.push_back("(joining " + std::to_string(k) + ")");
  }
  out.known = true;
  out.slots_to_move = migrate::planMoves(owners, targets).slotsToMove();
  return out;
}

ReshapeProgress::Sample ReshapeProgress::update(int to_move, int64_t now_ms) {
  if (to_move <= 0) {
    last_ = Sample{};
    return last_;
  }
  if (last_.at_start == 0) started_ms_ = now_ms;
  last_.to_move = to_move;
  last_.at_start = std::max(last_.at_start, to_move);
  last_.moved = last_.at_start - to_move;
  double seconds = static_cast<double>(now_ms - started_ms_) / 1000.0;
  last_.slots_per_second = last_.moved > 0 && seconds > 0 ? last_.moved / seconds : 0;
  last_.eta_s.reset();
  if (last_.slots_per_second > 0) {
    last_.eta_s = static_cast<int64_t>(std::ceil(to_move / last_.slots_per_second));
  }
  return last_;
}

}  // namespace agent::layout
