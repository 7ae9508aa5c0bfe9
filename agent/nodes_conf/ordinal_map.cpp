// SPDX-License-Identifier: Apache-2.0
#include "nodes_conf/ordinal_map.h"

#include <fmt/format.h>

#include "common/files.h"
#include "common/text.h"
#include "nodes_conf/nodes_conf.h"

namespace agent::nodes_conf {

std::optional<int> OrdinalMap::ordinalOf(std::string_view node_id) const {
  auto it = by_id_.find(std::string(node_id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> OrdinalMap::idOf(int ordinal) const {
  for (const auto& [id, ord] : by_id_) {
    if (ord == ordinal) return id;
  }
  return std::nullopt;
}

namespace {
// Retired IDs matter until every node has forgotten them; a few dozen cover any real history.
constexpr size_t kMaxRetired = 64;
}  // namespace

bool OrdinalMap::set(const std::string& node_id, int ordinal) {
  auto it = by_id_.find(node_id);
  if (it != by_id_.end() && it->second == ordinal) return false;
  for (auto old = by_id_.begin(); old != by_id_.end();) {
    if (old->second == ordinal) {
      retired_.emplace_back(old->first, ordinal);
      old = by_id_.erase(old);
    } else {
      ++old;
    }
  }
  std::erase_if(retired_, [&](const auto& r) { return r.first == node_id; });
  if (retired_.size() > kMaxRetired) {
    retired_.erase(retired_.begin(), retired_.end() - kMaxRetired);
  }
  by_id_[node_id] = ordinal;
  return true;
}

std::optional<int> OrdinalMap::retiredOrdinal(std::string_view node_id) const {
  for (const auto& [id, ordinal] : retired_) {
    if (id == node_id) return ordinal;
  }
  return std::nullopt;
}

std::string OrdinalMap::render() const {
  std::string out =
      "# redis-cluster-agent: node ID -> StatefulSet ordinal, learned from the live cluster.\n"
      "# Read by `redis-cluster-agent prepare` to find peers by pod name. Safe to delete.\n";
  for (const auto& [id, ordinal] : by_id_) out += fmt::format("{} {}\n", id, ordinal);
  for (const auto& [id, ordinal] : retired_) out += fmt::format("retired {} {}\n", id, ordinal);
  return out;
}

Result<OrdinalMap> OrdinalMap::parse(std::string_view text) {
  OrdinalMap map;
  size_t line_no = 0;
  for (std::string_view line : text::splitLines(text)) {
    ++line_no;
    line = text::trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto words = text::splitWords(line);
    bool retired = !words.empty() && words[0] == "retired";
    if (retired) words.erase(words.begin());
    auto ordinal = words.size() == 2 ? text::parseUint(words[1]) : std::nullopt;
    if (!ordinal || !isValidNodeId(words[0]) || *ordinal > 100000) {
      return fail(Errc::Invalid,
                  fmt::format("line {}: expected '[retired] <40-hex node ID> <ordinal>'", line_no));
    }
    if (retired) {
      map.retired_.emplace_back(std::string(words[0]), static_cast<int>(*ordinal));
    } else {
      map.set(std::string(words[0]), static_cast<int>(*ordinal));
    }
  }
  return map;
}

std::string ordinalMapPath(const std::string& nodes_conf_path) {
  return files::dirName(nodes_conf_path) + "/nodes.ordinals";
}

}  // namespace agent::nodes_conf
