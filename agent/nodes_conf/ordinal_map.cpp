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

constexpr std::string_view kConfirmed = "confirmed";

// The ordinal of a well-formed "node" or "retired" entry.
std::optional<int> entryOrdinal(const statefile::Entry& e) {
  if (e.key != "node" && e.key != "retired") return std::nullopt;
  if (e.values.size() != 2 && (e.values.size() != 3 || e.values[2] != kConfirmed)) {
    return std::nullopt;
  }
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

bool OrdinalMap::confirmed(std::string_view node_id) const {
  return confirmed_.count(std::string(node_id)) != 0;
}

void OrdinalMap::retire(const std::string& node_id, int ordinal, bool confirmed) {
  retired_.push_back({node_id, ordinal, confirmed});
  if (retired_.size() > kMaxRetired) {
    retired_.erase(retired_.begin(), retired_.end() - kMaxRetired);
  }
}

bool OrdinalMap::set(const std::string& node_id, int ordinal, bool confirmed) {
  auto it = by_id_.find(node_id);
  if (it != by_id_.end() && it->second == ordinal) {
    if (!confirmed || confirmed_.count(node_id) != 0) return false;
    confirmed_.insert(node_id);
    return true;
  }
  if (!confirmed) {
    // A hint never overrides what an agent confirmed, for this ID or for this ordinal.
    auto held = by_ordinal_.find(ordinal);
    if (confirmed_.count(node_id) != 0 ||
        (held != by_ordinal_.end() && confirmed_.count(held->second) != 0)) {
      return false;
    }
  }
  if (it != by_id_.end()) by_ordinal_.erase(it->second);
  if (auto old = by_ordinal_.find(ordinal); old != by_ordinal_.end()) {
    bool was_confirmed = confirmed_.erase(old->second) != 0;
    by_id_.erase(old->second);
    retire(old->second, ordinal, was_confirmed);
  }
  std::erase_if(retired_, [&](const Retired& r) { return r.id == node_id; });
  by_id_[node_id] = ordinal;
  by_ordinal_[ordinal] = node_id;
  if (confirmed) {
    confirmed_.insert(node_id);
  } else {
    confirmed_.erase(node_id);
  }
  return true;
}

std::optional<int> OrdinalMap::retiredOrdinal(std::string_view node_id) const {
  auto r = retiredEntry(node_id);
  if (!r) return std::nullopt;
  return r->ordinal;
}

std::optional<OrdinalMap::Retired> OrdinalMap::retiredEntry(std::string_view node_id) const {
  for (const auto& r : retired_) {
    if (r.id == node_id) return r;
  }
  return std::nullopt;
}

std::string OrdinalMap::render() const {
  std::vector<statefile::Entry> entries;
  auto values = [](const std::string& id, int ordinal, bool confirmed) {
    std::vector<std::string> v{id, std::to_string(ordinal)};
    if (confirmed) v.emplace_back(kConfirmed);
    return v;
  };
  for (const auto& [id, ordinal] : by_id_) {
    entries.push_back({"node", values(id, ordinal, confirmed(id))});
  }
  for (const auto& r : retired_) {
    entries.push_back({"retired", values(r.id, r.ordinal, r.confirmed)});
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
    if (!ordinal) {
      return e.invalid("expected 'node|retired <40-hex node ID> <ordinal> [confirmed]'");
    }
    bool confirmed = e.values.size() == 3;
    if (e.key == "retired") {
      map.retire(e.values[0], *ordinal, confirmed);
    } else {
      map.set(e.values[0], *ordinal, confirmed);
    }
  }
  return map;
}

}  // namespace agent::nodes_conf
