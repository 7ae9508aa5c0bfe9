// SPDX-License-Identifier: Apache-2.0
#include "nodes_conf/ordinal_map.h"

#include <fmt/format.h>

#include "common/text.h"
#include "nodes_conf/nodes_conf.h"
#include "statefile/statefile.h"

namespace agent::nodes_conf {

namespace {

constexpr std::string_view kHeader =
    "redis-cluster-agent: node ID -> StatefulSet ordinal, learned from the live cluster.\n"
    "Read by `redis-cluster-agent prepare` to find peers by pod name. Safe to delete.";
constexpr uint64_t kMaxOrdinal = 100000;

// The ordinal of a well-formed "node" or "retired" entry.
std::optional<int> entryOrdinal(const statefile::Entry& e) {
  if ((e.key != "node" && e.key != "retired") || e.values.size() != 2) return std::nullopt;
  if (!isValidNodeId(e.values[0])) return std::nullopt;
  auto n = text::parseUint(e.values[1]);
  if (!n || *n > kMaxOrdinal) return std::nullopt;
  return static_cast<int>(*n);
}

}  // namespace

std::optional<int> OrdinalMap::ordinalOf(std::string_view node_id) const {
  auto it = by_id_.find(std::string(node_id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> OrdinalMap::idOf(int ordinal) const {
  auto it = by_ordinal_.find(ordinal);
  if (it == by_ordinal_.end()) return std::nullopt;
  return it->second;
}

void OrdinalMap::retire(const std::string& node_id, int ordinal) {
  retired_.emplace_back(node_id, ordinal);
  if (retired_.size() > kMaxRetired) {
    retired_.erase(retired_.begin(), retired_.end() - kMaxRetired);
  }
}

bool OrdinalMap::set(const std::string& node_id, int ordinal) {
  auto it = by_id_.find(node_id);
  if (it != by_id_.end() && it->second == ordinal) return false;
  if (it != by_id_.end()) by_ordinal_.erase(it->second);
  if (auto old = by_ordinal_.find(ordinal); old != by_ordinal_.end()) {
    by_id_.erase(old->second);
    retire(old->second, ordinal);
  }
  std::erase_if(retired_, [&](const auto& r) { return r.first == node_id; });
  by_id_[node_id] = ordinal;
  by_ordinal_[ordinal] = node_id;
  return true;
}

std::optional<int> OrdinalMap::retiredOrdinal(std::string_view node_id) const {
  for (const auto& [id, ordinal] : retired_) {
    if (id == node_id) return ordinal;
  }
  return std::nullopt;
}

std::string OrdinalMap::render() const {
  std::vector<statefile::Entry> entries;
  for (const auto& [id, ordinal] : by_id_) {
    entries.push_back({"node", {id, std::to_string(ordinal)}});
  }
  for (const auto& [id, ordinal] : retired_) {
    entries.push_back({"retired", {id, std::to_string(ordinal)}});
  }
  return statefile::render(kHeader, entries);
}

Result<OrdinalMap> OrdinalMap::parse(std::string_view text) {
  OrdinalMap map;
  for (auto& e : statefile::parse(text)) {
    // 0.1.0 wrote live entries as "<id> <ordinal>": the ID in the place of the key.
    if (isValidNodeId(e.key)) {
      e.values.insert(e.values.begin(), e.key);
      e.key = "node";
    }
    auto ordinal = entryOrdinal(e);
    if (!ordinal) return e.invalid("expected 'node|retired <40-hex node ID> <ordinal>'");
    if (e.key == "retired") {
      map.retire(e.values[0], *ordinal);
    } else {
      map.set(e.values[0], *ordinal);
    }
  }
  return map;
}

}  // namespace agent::nodes_conf
