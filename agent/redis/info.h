// SPDX-License-Identifier: Apache-2.0
// Typed access to INFO and CLUSTER INFO replies ("key:value" lines).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace agent::redis {

class InfoFields {
 public:
  InfoFields() = default;
  static InfoFields parse(std::string_view text);

  std::optional<std::string> get(std::string_view key) const;
  std::string str(std::string_view key, std::string fallback = {}) const;
  std::optional<int64_t> integer(std::string_view key) const;
  int64_t integerOr(std::string_view key, int64_t fallback) const;
  std::optional<double> number(std::string_view key) const;
  bool empty() const { return fields_.empty(); }
  const std::map<std::string, std::string, std::less<>>& all() const { return fields_; }

 private:
  std::map<std::string, std::string, std::less<>> fields_;
};

// Keys in "db0:keys=1,expires=0,avg_ttl=0" summed over every database of INFO keyspace.
int64_t keyCount(const InfoFields& keyspace);

}  // namespace agent::redis
