// SPDX-License-Identifier: Apache-2.0
// The small files the agent keeps beside nodes.conf, in one format with one parser:
//   nodes.ordinals       node ID -> StatefulSet ordinal (nodes_conf/ordinal_map.h)
//   nodes.prepare-stats  what prepare rewrote, for run's metrics (prepare/record.h)
//   nodes.timeout-boost  the node-timeout to restore after creation (cluster/timeout_boost.h)
//   nodes.identity       the nodes this data directory has run, and whether each started in it
//                        without an earlier nodes.conf (app/ordinal_learner.h)
//   nodes.auth           the passwords (as SHA-256) the node accepts while a rotation runs
//                        (auth/record.h)
// The format: text lines; blank lines and lines starting with '#' are comments; every other line
// is a key followed by its values, separated by spaces ("since 1764079308000"). Which keys a
// file has and what their values mean is up to its reader. Files are replaced atomically.
// Depends on common/ only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace agent::statefile {

inline constexpr std::string_view kOrdinalMap = "nodes.ordinals";
inline constexpr std::string_view kPrepareStats = "nodes.prepare-stats";
inline constexpr std::string_view kTimeoutBoost = "nodes.timeout-boost";
inline constexpr std::string_view kIdentity = "nodes.identity";
inline constexpr std::string_view kAuth = "nodes.auth";

// Where the state file `name` lives for a nodes.conf path: in the same directory.
std::string pathBeside(const std::string& nodes_conf_path, std::string_view name);

// One line: a key and its values.
struct Entry {
  Entry(std::string k, std::vector<std::string> v, size_t line_no = 0, std::string line_text = {})
      : key(std::move(k)), values(std::move(v)), line(line_no), text(std::move(line_text)) {}

  std::string key;
  std::vector<std::string> values;
  size_t line = 0;   // 1-based, for messages
  std::string text;  // the line as written, for messages

  // values[i] as an integer; nullopt when missing or not a number.
  std::optional<int64_t> integer(size_t i = 0) const;
  // "line N: <why>: \"<text>\"": the error for an entry its reader cannot use.
  Error invalid(std::string_view why) const;
};

// Every entry, in file order. A line that is one word "key:value" reads as "key value": the
// format agents up to 0.1.0 wrote nodes.prepare-stats in (still read for one release).
std::vector<Entry> parse(std::string_view text);

// `header` (each line becomes a '#' comment), then one line per entry.
std::string render(std::string_view header, const std::vector<Entry>& entries);

// The file's text; nullopt when it does not exist. Errc::Io when it cannot be read.
Result<std::optional<std::string>> read(const std::string& path);
// Replaces the file atomically (temp file, fsync, rename, fsync of the directory).
Status write(const std::string& path, std::string_view text, mode_t mode = 0644);
// Removes the file durably; one that is already gone is no error.
Status remove(const std::string& path);

}  // namespace agent::statefile
