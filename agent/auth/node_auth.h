// SPDX-License-Identifier: Apache-2.0
// A node's authentication as Redis reports it, and the commands that change it. Redis 6+ (and
// Valkey) keep the passwords of the `default` user as SHA-256 and accept any of them; `ACL
// SETUSER default >pw` adds one and keeps the others, `CONFIG SET requirepass pw` leaves exactly
// that one, `masterauth` is what this node sends when it connects to its master. Clients that
// authenticated stay authenticated when a password is removed (docs/redis-facts.md,
// "Passwords"). Error texts never carry a password.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "redis/connection.h"

namespace agent::auth {

// Runs one command on the node: a connection of the agent's, or a peer through the pool.
using RunCommand = std::function<Result<redis::Reply>(const std::vector<std::string>&)>;

struct NodeAuth {
  std::vector<std::string> accepts;       // SHA-256 hex of the default user's passwords
  bool nopass = false;                    // the default user needs no password at all
  std::optional<std::string> masterauth;  // in clear (CONFIG GET shows it); never log it

  bool acceptsHash(std::string_view hash) const;
};

// ACL GETUSER default and CONFIG GET masterauth.
Result<NodeAuth> readNodeAuth(const RunCommand& run);
// The same from the two replies (tests).
Result<NodeAuth> parseNodeAuth(const redis::Reply& getuser, const redis::Reply& masterauth);

// The node accepts `password` as well (ACL SETUSER default >password).
Status addPassword(const RunCommand& run, const std::string& password);
// The node accepts again the password whose SHA-256 is `hash` (ACL SETUSER default #hash).
Status addPasswordHash(const RunCommand& run, const std::string& hash);
// The node authenticates to its master with `password` from its next connection on (the
// replication link that is up stays up).
Status setMasterauth(const RunCommand& run, const std::string& password);
// The node accepts `password` and nothing else, at once (ACL SETUSER default resetpass, then
// CONFIG SET requirepass).
Status acceptOnly(const RunCommand& run, const std::string& password);
// The node loads its users from an ACL file: its passwords then come from that file at a
// restart, not from requirepass, and a rotation cannot be resumed.
Result<bool> usesAclFile(const RunCommand& run);

}  // namespace agent::auth
