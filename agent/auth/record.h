// SPDX-License-Identifier: Apache-2.0
// nodes.auth beside nodes.conf: the passwords this node accepts, as SHA-256 (Redis' ACL form;
// never the password itself). One while nothing happens; during a rotation the old ones and the
// new one. It is what makes a rotation survive a restart: a Redis that restarts reads only the
// new password from the include, and the agent gives it the old ones back from here until the
// whole cluster has moved. The agent writes the file before each change it makes, so the file
// never lags behind the node (prepare does not touch it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace agent::auth {

struct AuthRecord {
  std::vector<std::string> accepts;  // SHA-256 hex, in the order they were added
  bool operator==(const AuthRecord&) const = default;

  bool has(std::string_view hash) const;
  // Adds `hash` unless present.
  void add(const std::string& hash);
  // A rotation to `target_hash` is under way: it is recorded together with older passwords.
  bool rotatingTo(std::string_view target_hash) const;
};

// "accept <64 hex digits>" lines; anything else is an error naming the line.
Result<AuthRecord> parseAuthRecord(std::string_view text);
std::string renderAuthRecord(const AuthRecord& record);

// The record beside `nodes_conf_path`; nullopt when there is none.
Result<std::optional<AuthRecord>> loadAuthRecord(const std::string& nodes_conf_path);
// Replaces it atomically, mode 0600.
Status saveAuthRecord(const std::string& nodes_conf_path, const AuthRecord& record);

bool isSha256Hex(std::string_view s);

}  // namespace agent::auth
