// SPDX-License-Identifier: Apache-2.0
// The node-ID -> StatefulSet-ordinal map the agent keeps beside nodes.conf. `run` learns it from
// the live cluster (CLUSTER MYID of each pod); `prepare` uses it to find every peer's current
// address by pod name. Pure parse/render; the file is written with files::writeAtomically.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agent::nodes_conf {

class OrdinalMap {
 public:
  std::optional<int> ordinalOf(std::string_view node_id) const;
  std::optional<std::string> idOf(int ordinal) const;
  // Records that `ordinal` now runs `node_id`; any other ID recorded for that ordinal is
  // dropped (the pod lost its data and has a new identity). Returns true if anything changed.
  bool set(const std::string& node_id, int ordinal);
  const std::map<std::string, int>& entries() const { return by_id_; }
  bool operator==(const OrdinalMap&) const = default;

  std::string render() const;
  static Result<OrdinalMap> parse(std::string_view text);

 private:
  std::map<std::string, int> by_id_;
};

// Where the map lives for a given nodes.conf path: "<dir>/nodes.ordinals".
std::string ordinalMapPath(const std::string& nodes_conf_path);

}  // namespace agent::nodes_conf
