// SPDX-License-Identifier: Apache-2.0
// What `prepare` rewrote over the life of a data directory, kept in a state file beside
// nodes.conf (statefile::kPrepareStats): prepare is a separate process that runs before Redis, so
// this file is how `run` learns about nodes.conf rewrites and exports them as counters. It is
// written only together with a rewrite, so a run that changes nothing (or refuses) still leaves
// every file as it was. Losing the file only resets the counters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agent::prepare {

struct Record {
  int64_t rewrites = 0;             // runs that rewrote nodes.conf
  int64_t addresses_rewritten = 0;  // node addresses changed, over all rewrites
  bool operator==(const Record&) const = default;
};

// Lines "rewrites <n>" and "addresses_rewritten <n>" (0.1.0 wrote "key:value", still read);
// unknown keys are ignored so older and newer agents can share the file.
Result<Record> parseRecord(std::string_view text);
std::string renderRecord(const Record& record);

// Reads the record; a missing or unreadable file is an empty record.
Record loadRecord(const std::string& nodes_conf_path);

// Adds one rewrite of `addresses` node addresses to the record on disk (atomic replace). Best
// effort: a failure is logged and never changes prepare's outcome.
void noteRewrite(const std::string& nodes_conf_path, int64_t addresses);

}  // namespace agent::prepare
