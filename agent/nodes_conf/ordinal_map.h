// SPDX-License-Identifier: Apache-2.0
// The node-ID -> StatefulSet-ordinal map the agent keeps beside nodes.conf
// (statefile::kOrdinalMap). `run` learns it from the live cluster (CLUSTER MYID of each pod);
// `prepare` uses it to find every peer's current address by pod name. Pure parse/render in the
// state-file format: lines "node <id> <ordinal>" and "retired <id> <ordinal>".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace agent::nodes_conf {

class OrdinalMap {
 public:
  std::optional<int> ordinalOf(std::string_view node_id) const;
  std::optional<std::string> idOf(int ordinal) const;
  // Records that `ordinal` now runs `node_id`. Another ID recorded for that ordinal moves to
  // the retired list: that pod lost its data and came back with a new identity, so the old ID
  // will never answer again. Returns true if anything changed.
  bool set(const std::string& node_id, int ordinal);
  const std::map<std::string, int>& entries() const { return by_id_; }
  // The ordinal a retired ID ran in, if it is one.
  std::optional<int> retiredOrdinal(std::string_view node_id) const;
  const std::vector<std::pair<std::string, int>>& retired() const { return retired_; }
  bool operator==(const OrdinalMap&) const = default;

  std::string render() const;
  // Also reads the format agents up to 0.1.0 wrote ("<id> <ordinal>" without the key), for one
  // release. Linear in the size of the text.
  static Result<OrdinalMap> parse(std::string_view text);

  // Retired IDs matter until every node has forgotten them; a few dozen cover any real history.
  static constexpr size_t kMaxRetired = 64;

 private:
  void retire(const std::string& node_id, int ordinal);

  std::map<std::string, int> by_id_;
  std::map<int, std::string> by_ordinal_;             // the same entries, by ordinal
  std::vector<std::pair<std::string, int>> retired_;  // oldest first, at most kMaxRetired
};

}  // namespace agent::nodes_conf
