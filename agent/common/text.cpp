// SPDX-License-Identifier: Apache-2.0
#include "common/text.h"

#include <charconv>
#include <cmath>

namespace agent::text {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> splitWords(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> splitLines(std::string_view s) {
  std::vector<std::string_view> lines = split(s, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (auto& line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::string concat(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (auto part : parts) size += part.size();
  std::string out;
  out.reserve(size);
  for (auto part : parts) out += part;
  return out;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::optional<int64_t> parseInt(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parseUint(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s[0] == '-' || s[0] == '+') return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> parseDurationMs(std::string_view s) {
  struct Unit {
    std::string_view suffix;
    double ms;
  };
  static constexpr Unit kUnits[] = {{"ms", 1.0}, {"s", 1000.0}, {"m", 60000.0}};
  double factor = 1000.0;
  for (const auto& unit : kUnits) {
    if (s.size() > unit.suffix.size() && s.substr(s.size() - unit.suffix.size()) == unit.suffix) {
      factor = unit.ms;
      s.remove_suffix(unit.suffix.size());
      break;
    }
  }
  double v = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // Past ~31 years a value is a typo, and past 2^63 ms llround is undefined.
  constexpr double kMaxMs = 1e12;
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0 || !std::isfinite(v) ||
      v * factor > kMaxMs) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(v * factor));
}

std::optional<std::string> expandTemplate(
    std::string_view tmpl, const std::vector<std::pair<std::string_view, std::string>>& vars) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    size_t close = tmpl.find('}', i);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view key = tmpl.substr(i + 1, close - i - 1);
    bool found = false;
    for (const auto& [name, value] : vars) {
      if (name == key) {
        out += value;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
    i = close + 1;
  }
  return out;
}

std::string shortId(std::string_view id) {
  return std::string(id.substr(0, 8));
}

std::vector<std::pair<std::string, std::string>> parseInfoFields(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view line : splitLines(s)) {
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

}  // namespace agent::text
