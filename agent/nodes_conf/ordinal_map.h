// SPDX-License-Identifier: Apache-2.0
// The node-ID -> StatefulSet-ordinal map the agent keeps beside nodes.conf
// (statefile::kOrdinalMap). `run` learns it from the live cluster: an entry is "confirmed" when
// the pod's own agent said it is that ordinal and runs that node (cluster/identity.h); entries
// without the mark come from agents up to 0.2, which learned from an address alone, and are
// hints only. `prepare` uses the map to find every peer's current address by pod name. Pure
// parse/render in the state-file format: lines "node <id> <ordinal> [confirmed]" and
// "retired <id> <ordinal> [confirmed]".
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace agent::nodes_conf {

class OrdinalMap {
 public:
  // An ID its pod no longer runs: that pod came back with another identity.
  struct Retired {
    std::string id;
    int ordinal = 0;
    bool confirmed = false;  // the ID was confirmed in that pod before it was replaced
    bool operator==(const Retired&) const = default;
  };

  std::optional<int> ordinalOf(std::string_view node_id) const;
  std::optional<std::string> idOf(int ordinal) const;
  // Records that `ordinal` now runs `node_id` (confirmed: its agent said so). Another ID
  // recorded for that ordinal moves to the retired list, keeping its mark. Retired says only
  // that the pod runs another node now; whether the old identity is lost is decided on more
  // evidence (cluster/heal_plan.cpp). A confirmed entry is never replaced by a hint. Returns
  // true if anything changed.
  bool set(const std::string& node_id, int ordinal, bool confirmed = false);
  const std::map<std::string, int>& entries() const { return by_id_; }
  bool confirmed(std::string_view node_id) const;
  // The ordinal a retired ID ran in, if it is one.
  std::optional<int> retiredOrdinal(std::string_view node_id) const;
  // The retired entry of `node_id`, if it is one.
  std::optional<Retired> retiredEntry(std::string_view node_id) const;
  const std::vector<Retired>& retired() const { return retired_; }
  bool operator==(const OrdinalMap&) const = default;

  std::string render() const;
  // Also reads the format agents up to 0.1.0 wrote ("<id> <ordinal>" without the key), for one
  // release. Linear in the size of the text.
  static Result<OrdinalMap> parse(std::string_view text);

  // Retired IDs matter until every node has forgotten them; a few dozen cover any real history.
  static constexpr size_t kMaxRetired = 64;

 private:
  void retire(const std::string& node_id, int ordinal, bool confirmed);

  std::map<std::string, int> by_id_;
  std::map<int, std::string> by_ordinal_;  // the same entries, by ordinal
  std::set<std::string> confirmed_;        // IDs of current entries their agent confirmed
  std::vector<Retired> retired_;           // oldest first, at most kMaxRetired
};

}  // namespace agent::nodes_conf
