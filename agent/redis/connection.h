// SPDX-License-Identifier: Apache-2.0
// A blocking Redis connection with a timeout on connect and on every command. The only code that
// includes hiredis. Replies are copied into owned Reply values before they leave this module.
// Errors keep three classes apart: transport (Errc::Transport / Errc::Timeout: the connection is
// dead, reconnect), shape (Errc::Protocol) and Redis error replies (Errc::Server, with the text).
// A Connection is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct redisContext;

namespace agent::redis {

struct Reply {
  enum class Type { String, Status, Integer, Nil, Array };
  Type type = Type::Nil;
  std::string str;
  int64_t integer = 0;
  std::vector<Reply> elements;
};

class Credentials;

struct Endpoint {
  std::string host;
  int port = 6379;
  std::string str() const;  // "host:port", IPv6 in brackets
};

struct ConnectOptions {
  int64_t connect_timeout_ms = 1000;
  int64_t command_timeout_ms = 1000;
  std::optional<std::string> password;  // sent with AUTH right after connecting
  // Refuse, without sending it, every command that could change the server or the cluster
  // (--mode observe). See isReadOnlyCommand().
  bool read_only = false;
  // When set, the passwords to try in place of `password` (a password rotation may be under
  // way): connections are then opened with redis::connect() (redis/credentials.h).
  std::shared_ptr<const Credentials> credentials = nullptr;
};

class Connection final {
 public:
  // Connects and authenticates. Fails with Transport/Timeout if nothing answers, Server if
  // AUTH is refused.
  static Result<Connection> open(const Endpoint& endpoint, const ConnectOptions& options);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Sends one command (arguments are binary-safe). An error reply becomes Errc::Server; on a
  // read-only connection anything but isReadOnlyCommand() is Errc::Refused and never sent.
  Result<Reply> command(const std::vector<std::string>& args);
  // The same, for replies that must be a bulk or status string (INFO, CLUSTER NODES, ...).
  Result<std::string> commandString(const std::vector<std::string>& args);
  Result<int64_t> commandInteger(const std::vector<std::string>& args);

  // False after a transport error; such a connection must be replaced.
  bool healthy() const { return healthy_; }
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  struct ContextFree {
    void operator()(redisContext* c) const;
  };
  Connection(std::unique_ptr<redisContext, ContextFree> ctx, Endpoint endpoint);

  std::unique_ptr<redisContext, ContextFree> ctx_;
  Endpoint endpoint_;
  bool healthy_ = true;
  bool read_only_ = false;
};

// Reads a password file (a mounted Secret): the whole file minus one trailing newline.
// An empty path means "no password".
Result<std::optional<std::string>> readPasswordFile(const std::string& path);

// The commands a read-only connection may send: AUTH, PING, INFO, ROLE and the CLUSTER
// subcommands that only report (INFO, NODES, MYID, SLOTS, SHARDS). Case-insensitive.
bool isReadOnlyCommand(const std::vector<std::string>& args);

// True for "-LOADING" error replies (the dataset is still being loaded).
bool isLoadingError(const Error& e);

}  // namespace agent::redis
