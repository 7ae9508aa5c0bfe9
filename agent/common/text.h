// SPDX-License-Identifier: Apache-2.0
// Small string helpers shared by the parsers. No third-party dependencies.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent::text {

// Splits on every occurrence of `sep`; empty fields are kept ("a,,b" -> {"a","","b"}).
std::vector<std::string_view> split(std::string_view s, char sep);
// Splits on runs of spaces/tabs; empty fields are dropped.
std::vector<std::string_view> splitWords(std::string_view s);
// Splits into lines on '\n', dropping a trailing '\r' from each line.
std::vector<std::string_view> splitLines(std::string_view s);
std::string_view trim(std::string_view s);
// The parts joined into one string, with one allocation. Also the way around GCC 12's false
// -Wrestrict reports on `"literal" + std::string` in release builds (GCC PR 105329).
std::string concat(std::initializer_list<std::string_view> parts);
bool startsWith(std::string_view s, std::string_view prefix);

// Strict decimal parsers: the whole string must be a number in range.
std::optional<int64_t> parseInt(std::string_view s);
std::optional<uint64_t> parseUint(std::string_view s);

// Parses "250ms", "2s", "1m", "1.5s"; a bare number means seconds. Returns milliseconds.
std::optional<int64_t> parseDurationMs(std::string_view s);

// Replaces every "{key}" in `tmpl`; returns nullopt if a "{...}" names an unknown key.
std::optional<std::string> expandTemplate(
    std::string_view tmpl, const std::vector<std::pair<std::string_view, std::string>>& vars);

// A node ID as logs and messages show it: its first 8 characters.
std::string shortId(std::string_view id);

// Parses Redis' "key:value\r\n" blocks (INFO, CLUSTER INFO); '#' lines are skipped.
std::vector<std::pair<std::string, std::string>> parseInfoFields(std::string_view s);

}  // namespace agent::text
