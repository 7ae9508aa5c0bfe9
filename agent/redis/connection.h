// SPDX-License-Identifier: Apache-2.0
// A Redis connection over our own non-blocking socket, plaintext or TLS, with hiredis only for
// the protocol (redisFormatCommandArgv to write, its reader to parse). Every exchange has one
// absolute deadline (write + read of the whole reply) and size caps on the reply; a peer that
// drip-feeds a reply or announces a huge one costs at most the deadline and a few MB, never a
// wedged thread. Replies are owned Reply values.
// Errors keep four classes apart: the connection is dead and must be replaced (Errc::Transport,
// Errc::Timeout; also a refused reply, Errc::Protocol, after which healthy() is false), a reply
// of an unexpected shape (Errc::Protocol, connection still usable), and Redis error replies
// (Errc::Server, with Redis' text). No error text contains the password or an argument marked
// secret (scrub.h).
// A Connection is used by one thread at a time; a shared Canceller ends its exchanges from any
// other thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_port.h"
#include "common/result.h"
#include "redis/cancel.h"
#include "redis/reply_reader.h"
#include "redis/server_info.h"
#include "redis/socket.h"
#include "redis/tls.h"

namespace agent::redis {

using Endpoint = HostPort;

class Credentials;

struct ConnectOptions {
  // TCP connect and TLS handshake together.
  int64_t connect_timeout_ms = 1000;
  // The whole exchange of one command (or one pipeline): sending it and reading every reply.
  int64_t command_timeout_ms = 1000;
  std::optional<std::string> password;  // sent with AUTH right after connecting
  // Refuse, without sending it, every command that could change the server or the cluster
  // (--mode observe). See isReadOnlyCommand().
  bool read_only = false;
  // The members below have initializers so callers' {connect, command, password, read_only}
  // aggregates stay warning-free.
  std::optional<TlsOptions> tls{};  // plaintext when unset
  ReplyLimits limits{};             // caps on every reply (a command may raise its own)
  // More strings to scrub from every error text besides the password.
  std::vector<std::string> secrets{};
  // When set, the passwords to try in place of `password` (a password rotation may be under
  // way): connections are then opened with redis::connect() (redis/credentials.h).
  std::shared_ptr<const Credentials> credentials{};
  // When set and cancelled, every exchange ends at once with Errc::Transport ("cancelled").
  std::shared_ptr<const Canceller> cancel{};
  // With TLS and no tls->server_name: the name the server at a host must prove ("" for the
  // chain only), for clients that reach many servers by address with one set of options (the
  // scale verb; config/clients.h).
  std::function<std::string(const std::string& host)> tls_name_for{};
};

// Per-command overrides (e.g. a MIGRATE batch that may take longer, a large GETKEYSINSLOT).
struct CommandOptions {
  std::optional<int64_t> timeout_ms;  // instead of command_timeout_ms
  std::optional<ReplyLimits> limits;  // instead of ConnectOptions::limits
  std::vector<size_t> secret_args;    // indexes of arguments scrubbed from error texts
};

class Connection final {
 public:
  // Connects (and with TLS verifies the server) within connect_timeout_ms, then authenticates.
  // Fails with Transport/Timeout if nothing answers, Server if AUTH is refused (with a message
  // that says what to fix).
  static Result<Connection> open(const Endpoint& endpoint, const ConnectOptions& options);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Sends one command (arguments are binary-safe). An error reply becomes Errc::Server; on a
  // read-only connection anything but isReadOnlyCommand() is Errc::Refused and never sent.
  Result<Reply> command(const std::vector<std::string>& args);
  Result<Reply> command(const std::vector<std::string>& args, const CommandOptions& options);
  // The same, for replies that must be a bulk or status string (INFO, CLUSTER NODES, ...).
  Result<std::string> commandString(const std::vector<std::string>& args);
  Result<int64_t> commandInteger(const std::vector<std::string>& args);

  // Sends every command at once and reads every reply, under one deadline for all. The outer
  // error is the connection's (Transport/Timeout/Protocol/Refused: nothing or not everything
  // was answered); each inner result is one command's (Errc::Server for an error reply).
  Result<std::vector<Result<Reply>>> pipeline(const std::vector<std::vector<std::string>>& commands,
                                              const CommandOptions& options = {});

  // The server's name and version: from the first INFO reply that carried the server section,
  // or from one INFO server sent now (once per connection; the answer is kept).
  Result<ServerInfo> server();

  // False after a transport error, a timeout or a refused reply; such a connection must be
  // replaced.
  bool healthy() const { return healthy_; }
  const Endpoint& endpoint() const { return endpoint_; }
  bool isTls() const { return stream_.isTls(); }

 private:
  using Commands = std::span<const std::vector<std::string>>;
  // One exchange in flight: what the messages need to say where it stopped.
  struct Exchange {
    Commands commands;
    int64_t timeout_ms = 0;
    const std::vector<std::string>* secrets = nullptr;  // scrubbed from its error texts
    size_t sent = 0;                                    // request bytes written
    size_t replies = 0;                                 // complete replies read
  };

  Connection(Stream stream, Endpoint endpoint, const ConnectOptions& options);
  Status authenticate(const std::string& password);
  Status checkSendable(Commands commands) const;
  Result<std::vector<Result<Reply>>> exchange(Commands commands, const CommandOptions& options);
  Status transfer(Exchange& x, std::vector<Result<Reply>>& out);
  Status drain(Exchange& x, std::vector<Result<Reply>>& out);
  void noteServerInfo(const std::vector<std::string>& args, const Reply& reply);
  // Closes the connection after a failed exchange and says where the exchange stopped.
  Error broken(const Error& cause, const Exchange& x);

  Stream stream_;
  ReplyReader reader_;
  std::string request_;    // the formatted request, reused between exchanges
  std::vector<char> buf_;  // bytes as they are read
  Endpoint endpoint_;
  bool healthy_ = true;
  bool answered_ = false;  // a reply arrived on this connection
  bool read_only_ = false;
  int64_t command_timeout_ms_ = 1000;
  ReplyLimits limits_;
  std::vector<std::string> secrets_;
  std::shared_ptr<const Canceller> cancel_;
  std::optional<ServerInfo> server_;
};

// Longest password the agent accepts: far more than any generated one (ACL GENPASS gives 64
// characters), far less than what a wrong file mounted as the Secret would hold.
inline constexpr size_t kMaxPasswordBytes = 1024;

// Reads a password file (a mounted Secret): the whole file minus one trailing newline.
// An empty path means "no password"; an empty or over-long password is Errc::Invalid.
Result<std::optional<std::string>> readPasswordFile(const std::string& path);

// The commands a read-only connection may send: AUTH, PING, INFO, ROLE and the CLUSTER
// subcommands that only report (INFO, NODES, MYID, SLOTS, SHARDS). Case-insensitive.
bool isReadOnlyCommand(const std::vector<std::string>& args);

// True for "-LOADING" error replies (the dataset is still being loaded).
bool isLoadingError(const Error& e);

// True for "-ERR unknown command" replies: the server does not know the command under that
// name (rename-command renamed or disabled it, or the server is not Redis).
bool isUnknownCommandError(const Error& e);

}  // namespace agent::redis
