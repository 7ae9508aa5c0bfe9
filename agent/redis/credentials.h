// SPDX-License-Identifier: Apache-2.0
// The passwords the agent's connections may authenticate with, shared by every part that
// connects (the loop, the peer probes, the handover thread). Usually one; while a password
// rotation runs, the new one and the old ones, since each node accepts the new password only
// from a moment the others do not know. Existing connections stay authenticated when a node
// drops a password (Redis keeps them), so the candidates matter only when a connection opens.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "redis/connection.h"

namespace agent::redis {

class Credentials {
 public:
  // No password (an empty list): connections send no AUTH.
  Credentials() = default;
  explicit Credentials(std::optional<std::string> password);

  // The passwords to try, in order: the one that worked last, then the others as set().
  std::vector<std::string> candidates() const;
  // Replaces the candidates (duplicates and empty strings are dropped, order kept).
  void set(std::vector<std::string> passwords);
  // Remembers that `password` worked, so the next connection tries it first.
  void worked(const std::string& password) const;
  bool empty() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> passwords_;
  mutable std::string last_good_;
};

// Opens a connection like Connection::open, with the first of `credentials`' candidates that the
// server accepts (options.password is ignored when credentials are given). A refused password
// costs one connection attempt; any other failure ends the attempts at once.
Result<Connection> openWith(const Endpoint& endpoint, ConnectOptions options,
                            const Credentials* credentials);

// Opens with options.credentials when set, else exactly like Connection::open.
Result<Connection> connect(const Endpoint& endpoint, const ConnectOptions& options);

// True for an error that refuses the password (WRONGPASS, "invalid password"), as the server
// sent it or as Connection::open reports it: another password may work where this one did not.
bool isPasswordRefused(const Error& e);

}  // namespace agent::redis
