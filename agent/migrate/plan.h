// SPDX-License-Identifier: Apache-2.0
// The slot moves of a rebalance, kept pure: given every master with the slots it owns and the
// masters that should own slots from now on, which slots go from where to where so that every
// wanted master owns an even share. No I/O, no logging; migrate/rebalance.h carries it out.
#pragma once

#include <string>
#include <vector>

namespace agent::migrate {

struct MasterSlots {
  std::string id;
  std::vector<int> slots;  // ascending
};

// Every slot one source gives to one target, ascending.
struct Move {
  std::string from;
  std::string to;
  std::vector<int> slots;
};

struct Plan {
  std::vector<Move> moves;  // one per source -> target pair, largest first
  int total_slots = 0;      // slots owned by the masters given
  int ideal = 0;            // total / targets, rounded down
  int tolerance = 0;        // how far from the ideal a master may be and still count as even
  bool balanced = false;    // nothing to move: every target within tolerance, every other empty
  int slotsToMove() const;
};

// How far from an even share a master may be: 1% of the share or 1 slot, whichever is larger.
int tolerance(int ideal);

// True when every master of `targets` owns within tolerance of an even share of the slots
// `masters` own, and every other master owns none.
bool isBalanced(const std::vector<MasterSlots>& masters, const std::vector<std::string>& targets);

// The moves that give every target an even share (they differ by at most one slot) with the
// fewest slots moved, and empty the masters that are not targets. A cluster already within
// tolerance is left alone (moving a slot costs a pause of its keys; evening out the last 1%
// is not worth it). Targets absent from `masters` own nothing yet. Slots leave a source from
// the top of its ranges, so both sides keep few, contiguous ranges.
Plan planMoves(const std::vector<MasterSlots>& masters, const std::vector<std::string>& targets);

}  // namespace agent::migrate
