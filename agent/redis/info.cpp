// SPDX-License-Identifier: Apache-2.0
#include "redis/info.h"

#include <charconv>

#include "common/text.h"

namespace agent::redis {

InfoFields InfoFields::parse(std::string_view text) {
  InfoFields out;
  for (auto& [k, v] : text::parseInfoFields(text)) out.fields_[k] = v;
  return out;
}

std::optional<std::string> InfoFields::get(std::string_view key) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) return std::nullopt;
  return it->second;
}

std::string InfoFields::str(std::string_view key, std::string fallback) const {
  return get(key).value_or(std::move(fallback));
}

std::optional<int64_t> InfoFields::integer(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  return text::parseInt(*v);
}

int64_t InfoFields::integerOr(std::string_view key, int64_t fallback) const {
  return integer(key).value_or(fallback);
}

std::optional<double> InfoFields::number(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  std::string_view s = *v;
  if (!s.empty() && s.back() == '%') s.remove_suffix(1);
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

int64_t keyCount(const InfoFields& keyspace) {
  int64_t total = 0;
  for (const auto& [key, value] : keyspace.all()) {
    if (!text::startsWith(key, "db")) continue;
    for (std::string_view part : text::split(value, ',')) {
      if (text::startsWith(part, "keys=")) total += text::parseInt(part.substr(5)).value_or(0);
    }
  }
  return total;
}

}  // namespace agent::redis
