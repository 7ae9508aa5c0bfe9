// SPDX-License-Identifier: Apache-2.0
// The password lines of the redis.conf include that prepare writes (--include-file): what a
// Redis that restarts reads. While a rotation runs the agent keeps them equal to what its
// running node uses, editing only `requirepass` and `masterauth` and keeping every other line
// (cluster-announce-ip, whatever prepare adds later) as it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agent::auth {

struct IncludeAuth {
  std::optional<std::string> requirepass;
  std::optional<std::string> masterauth;
  bool operator==(const IncludeAuth&) const = default;
};

// A value for redis.conf: double-quoted with C-like escapes, so any byte survives Redis' parser
// (sdssplitargs).
std::string quoteConfigValue(std::string_view value);

// The values of the last `requirepass` and `masterauth` lines (as Redis applies them); quoted
// or bare, as Redis' parser reads them. A line it cannot read is skipped.
IncludeAuth readIncludeAuth(std::string_view text);

// `text` with its `requirepass` and `masterauth` lines replaced by `auth`'s (a value that is
// absent removes the line); every other line stays as it was, the two lines go at the end.
std::string withIncludeAuth(std::string_view text, const IncludeAuth& auth);

}  // namespace agent::auth
