// SPDX-License-Identifier: Apache-2.0
#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <fmt/format.h>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <span>
#include <string_view>

#include "common/clock.h"
#include "common/files.h"
#include "common/text.h"
#include "redis/scrub.h"

namespace agent::redis {

namespace {

using Commands = std::span<const std::vector<std::string>>;

constexpr const char* kClosedByServer = "connection closed by the server";
// One read: a TLS record is at most 16 KiB, and so is hiredis' idle reader buffer.
constexpr size_t kReadChunk = size_t{16} << 10;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

// The command as messages name it: its name, and the subcommand of the commands that have
// them. Never the other arguments: they may be secrets or large.
std::string commandName(const std::vector<std::string>& args) {
  if (args.empty()) return "(empty command)";
  std::string name = upper(args[0]);
  if (args.size() > 1 && (name == "CLUSTER" || name == "CONFIG" || name == "CLIENT")) {
    name += " " + upper(args[1]);
  }
  return name;
}

std::string describe(Commands commands) {
  if (commands.size() == 1) return commandName(commands[0]);
  return fmt::format("a pipeline of {} commands", commands.size());
}

// The RESP request for every command, back to back, into `out`.
Status formatRequest(Commands commands, std::string& out) {
  out.clear();
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& args : commands) {
    argv.clear();
    lens.clear();
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    char* buf = nullptr;
    int len = redisFormatCommandArgv(&buf, static_cast<int>(args.size()), argv.data(), lens.data());
    if (len < 0 || buf == nullptr) return fail(Errc::Invalid, "cannot format the command");
    out.append(buf, static_cast<size_t>(len));
    redisFreeCommand(buf);
  }
  return {};
}

void scrubErrors(Reply& reply, const std::vector<std::string>& secrets) {
  if (reply.type == Reply::Type::Error) reply.str = scrubSecrets(std::move(reply.str), secrets);
  for (auto& e : reply.elements) scrubErrors(e, secrets);
}

// False when the call failed; otherwise adds what it waits for (if anything) to `events`.
bool waitsFor(const IoResult& r, short& events) {
  if (r.kind == IoResult::Kind::WantRead) events |= POLLIN;
  if (r.kind == IoResult::Kind::WantWrite) events |= POLLOUT;
  return r.kind != IoResult::Kind::Closed && r.kind != IoResult::Kind::Failed;
}

Error ioError(const IoResult& r) {
  if (r.kind == IoResult::Kind::Closed)
    return fail(Errc::Transport, "connection closed by the server");
  return fail(Errc::Transport, r.error);
}

bool carriesServerSection(const std::vector<std::string>& args) {
  if (args.empty() || upper(args[0]) != "INFO") return false;
  if (args.size() == 1) return true;
  std::string section = upper(args[1]);
  return section == "SERVER" || section == "DEFAULT" || section == "ALL" || section == "EVERYTHING";
}

}  // namespace

Connection::Connection(Stream stream, Endpoint endpoint, const ConnectOptions& options)
    : stream_(std::move(stream)),
      endpoint_(std::move(endpoint)),
      read_only_(options.read_only),
      command_timeout_ms_(options.command_timeout_ms),
      limits_(options.limits),
      secrets_(options.secrets),
      cancel_(options.cancel) {
  if (options.password) secrets_.push_back(*options.password);
  buf_.resize(kReadChunk);
}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Result<Connection> Connection::open(const Endpoint& endpoint, const ConnectOptions& options) {
  int64_t deadline = monotonicMs() + options.connect_timeout_ms;
  auto fd = connectTcp(endpoint, deadline, options.cancel.get());
  if (!fd) return fail(fd.error().code, fmt::format("{}: {}", endpoint.str(), fd.error().message));
  Stream stream;
  if (options.tls) {
    TlsOptions tls_options = *options.tls;
    if (tls_options.server_name.empty() && options.tls_name_for) {
      tls_options.server_name = options.tls_name_for(endpoint.host);
      tls_options.sni = !tls_options.server_name.empty();
    }
    auto tls = TlsSession::handshake(fd->get(), tls_options, deadline, options.cancel.get());
    if (!tls) {
      return fail(tls.error().code, fmt::format("{}: {}", endpoint.str(), tls.error().message));
    }
    stream = Stream(std::move(*fd), std::move(*tls));
  } else {
    stream = Stream(std::move(*fd));
  }
  Connection conn(std::move(stream), endpoint, options);
  if (options.password) {
    if (Status st = conn.authenticate(*options.password); !st) return st.error();
  }
  return conn;
}

// AUTH's answers, turned into what to fix. The text Redis sends is already scrubbed.
Status Connection::authenticate(const std::string& password) {
  auto reply = command({"AUTH", password});
  if (reply) return {};
  const Error& e = reply.error();
  if (e.code != Errc::Server) return e;
  // A server without requirepass answers AUTH with an error; that is not a failure to reach it.
  if (e.message.find("without any password") != std::string::npos) return {};
  std::string ep = endpoint_.str();
  if (text::startsWith(e.message, "ERR unknown command")) {
    return fail(Errc::Server,
                fmt::format("{}: AUTH failed: the server does not know the AUTH command (renamed "
                            "or disabled with rename-command?) but a password is configured "
                            "(--redis-password-file); the server said: {}",
                            ep, e.message));
  }
  if (text::startsWith(e.message, "WRONGPASS") ||
      e.message.find("invalid password") != std::string::npos) {
    return fail(Errc::Server,
                fmt::format("{}: AUTH refused: the password (--redis-password-file) does not match "
                            "the server's requirepass; the server said: {}",
                            ep, e.message));
  }
  return fail(Errc::Server, fmt::format("{}: AUTH refused: {}", ep, e.message));
}

Result<Reply> Connection::command(const std::vector<std::string>& args) {
  return command(args, CommandOptions{});
}

Result<Reply> Connection::command(const std::vector<std::string>& args,
                                  const CommandOptions& options) {
  auto replies = exchange(Commands(&args, 1), options);
  if (!replies) return replies.error();
  Result<Reply>& reply = replies->front();
  if (reply) noteServerInfo(args, *reply);
  return std::move(reply);
}

Result<std::vector<Result<Reply>>> Connection::pipeline(
    const std::vector<std::vector<std::string>>& commands, const CommandOptions& options) {
  if (commands.empty()) return std::vector<Result<Reply>>{};
  return exchange(Commands(commands), options);
}

Status Connection::checkSendable(Commands commands) const {
  if (!healthy_) {
    return fail(Errc::Transport, fmt::format("{}: connection broken", endpoint_.str()));
  }
  if (cancel_ && cancel_->cancelled()) {
    return fail(Errc::Transport, fmt::format("{}: cancelled", endpoint_.str()));
  }
  if (!read_only_) return {};
  for (const auto& args : commands) {
    if (!isReadOnlyCommand(args)) {
      return fail(Errc::Refused,
                  fmt::format("{}: {} refused: the agent only observes (--mode observe)",
                              endpoint_.str(), args.empty() ? "" : args[0]));
    }
  }
  return {};
}

Result<std::vector<Result<Reply>>> Connection::exchange(Commands commands,
                                                        const CommandOptions& options) {
  if (Status st = checkSendable(commands); !st) return st.error();
  Exchange x{commands, options.timeout_ms.value_or(command_timeout_ms_), &secrets_};
  std::vector<std::string> secrets;  // only when this command has secret arguments
  if (!options.secret_args.empty()) {
    secrets = secrets_;
    for (const auto& args : commands) {
      for (size_t i : options.secret_args) {
        if (i < args.size()) secrets.push_back(args[i]);
      }
    }
    x.secrets = &secrets;
  }
  if (Status st = formatRequest(commands, request_); !st) return st.error();
  reader_.setLimits(options.limits.value_or(limits_));
  std::vector<Result<Reply>> out;
  out.reserve(commands.size());
  if (Status st = transfer(x, out); !st) return st.error();
  // More bytes than replies asked for: the stream is out of step, do not use it again.
  if (!reader_.idle()) broken(fail(Errc::Protocol, "unexpected bytes after the reply"), x);
  return out;
}

// Writes the request and reads one reply per command into `out`, all by one deadline. Reads
// are tried only when poll said the socket is readable or the last read found data, so a
// command costs one send, one poll and one recv.
Status Connection::transfer(Exchange& x, std::vector<Result<Reply>>& out) {
  int64_t deadline = monotonicMs() + x.timeout_ms;
  bool try_read = false;
  while (out.size() < x.commands.size()) {
    if (monotonicMs() >= deadline) return broken(fail(Errc::Timeout, "timed out"), x);
    short events = POLLIN;
    bool wrote = false;
    if (x.sent < request_.size()) {
      IoResult w = stream_.write(request_.data() + x.sent, request_.size() - x.sent);
      if (!waitsFor(w, events)) return broken(ioError(w), x);
      x.sent += w.bytes;
      wrote = w.bytes > 0 && x.sent < request_.size();
    }
    if (try_read) {
      IoResult r = stream_.read(buf_.data(), buf_.size());
      if (r.kind == IoResult::Kind::Done) {
        if (Status st = reader_.feed({buf_.data(), r.bytes}); !st) return broken(st.error(), x);
        if (Status st = drain(x, out); !st) return broken(st.error(), x);
        continue;
      }
      if (!waitsFor(r, events)) return broken(ioError(r), x);
      try_read = false;
    }
    if (wrote) continue;  // keep writing while the socket takes it
    if (Status st = waitReady(stream_.fd(), events, deadline, cancel_.get()); !st) {
      return broken(st.error(), x);
    }
    try_read = true;
  }
  return {};
}

// Moves every complete reply the reader holds into `out`.
Status Connection::drain(Exchange& x, std::vector<Result<Reply>>& out) {
  while (out.size() < x.commands.size()) {
    auto next = reader_.next();
    if (!next) return next.error();
    if (!*next) break;
    ParsedReply& p = **next;
    if (p.is_error) {
      out.emplace_back(fail(Errc::Server, scrubSecrets(std::move(p.value.str), *x.secrets)));
    } else {
      if (p.value.type == Reply::Type::Array) scrubErrors(p.value, *x.secrets);
      out.emplace_back(std::move(p.value));
    }
  }
  x.replies = out.size();
  answered_ = answered_ || !out.empty();
  return {};
}

Error Connection::broken(const Error& cause, const Exchange& x) {
  std::string command = describe(x.commands);
  size_t count = x.commands.size();
  std::string what;
  if (cause.code == Errc::Timeout) {
    std::string where = x.sent < request_.size()
                            ? fmt::format("{} of {} request bytes sent", x.sent, request_.size())
                        : count > 1
                            ? fmt::format("{} of {} replies and {} bytes of the next received",
                                          x.replies, count, reader_.partialBytes())
                            : fmt::format("{} bytes of the reply received", reader_.partialBytes());
    what = fmt::format("{} timed out after {} ms ({})", command, x.timeout_ms, where);
  } else if (cause.code == Errc::Protocol) {
    what = fmt::format("{}: {}; connection closed", command, cause.message);
  } else {
    what = fmt::format("{}: {}", command, cause.message);
    // A TLS server that rejects the client's certificate sends an alert and closes; the close
    // often overtakes the alert, and all the client sees is a reset before the first reply.
    bool closed = cause.message == kClosedByServer || cause.message == std::strerror(ECONNRESET);
    if (stream_.isTls() && !answered_ && closed) {
      what +=
          " (the server closed the TLS connection before its first reply: it may require "
          "a client certificate, or not accept this one)";
    } else if (!answered_ && closed && reader_.partialBytes() == 0) {
      // A TLS-only Redis (port 0, tls-port) resets a connection whose first bytes are not a
      // TLS handshake.
      what +=
          " (the server closed the connection before its first reply: if it serves TLS only, "
          "connect with TLS (agent: --tls=on and the certificate flags))";
    }
  }
  healthy_ = false;
  stream_ = Stream{};  // frees the socket and whatever the reader buffered, now
  reader_ = ReplyReader{};
  return fail(cause.code, scrubSecrets(fmt::format("{}: {}", endpoint_.str(), what), *x.secrets));
}

void Connection::noteServerInfo(const std::vector<std::string>& args, const Reply& reply) {
  if (server_ || reply.type != Reply::Type::String || !carriesServerSection(args)) return;
  server_ = serverInfoFrom(InfoFields::parse(reply.str));
}

Result<ServerInfo> Connection::server() {
  if (server_) return *server_;
  auto text = commandString({"INFO", "server"});
  if (!text) return text.error();
  if (!server_) {
    return fail(Errc::Protocol,
                fmt::format("{}: INFO server reports no redis_version", endpoint_.str()));
  }
  return *server_;
}

Result<std::string> Connection::commandString(const std::vector<std::string>& args) {
  auto reply = command(args);
  if (!reply) return reply.error();
  if (reply->type != Reply::Type::String && reply->type != Reply::Type::Status) {
    return fail(Errc::Protocol,
                fmt::format("{}: {} did not return a string", endpoint_.str(), commandName(args)));
  }
  return std::move(reply->str);
}

Result<int64_t> Connection::commandInteger(const std::vector<std::string>& args) {
  auto reply = command(args);
  if (!reply) return reply.error();
  if (reply->type != Reply::Type::Integer) {
    return fail(Errc::Protocol, fmt::format("{}: {} did not return an integer", endpoint_.str(),
                                            commandName(args)));
  }
  return reply->integer;
}

Result<std::optional<std::string>> readPasswordFile(const std::string& path) {
  if (path.empty()) return std::optional<std::string>{};
  auto content = files::read(path);
  if (!content) return content.error();
  std::string pw = std::move(*content);
  if (!pw.empty() && pw.back() == '\n') pw.pop_back();
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) return fail(Errc::Invalid, fmt::format("password file {} is empty", path));
  if (pw.size() > kMaxPasswordBytes) {
    return fail(Errc::Invalid,
                fmt::format("password file {} holds {} bytes; a password may have at most {} (it "
                            "goes into every AUTH and into redis.conf): is it the right file?",
                            path, pw.size(), kMaxPasswordBytes));
  }
  return std::optional<std::string>(std::move(pw));
}

bool isReadOnlyCommand(const std::vector<std::string>& args) {
  if (args.empty()) return false;
  std::string cmd = upper(args[0]);
  if (cmd == "AUTH" || cmd == "PING" || cmd == "INFO" || cmd == "ROLE") return true;
  if (cmd != "CLUSTER" || args.size() < 2) return false;
  std::string sub = upper(args[1]);
  return sub == "INFO" || sub == "NODES" || sub == "MYID" || sub == "SLOTS" || sub == "SHARDS";
}

bool isLoadingError(const Error& e) {
  return e.code == Errc::Server && e.message.rfind("LOADING", 0) == 0;
}

bool isUnknownCommandError(const Error& e) {
  return e.code == Errc::Server && e.message.rfind("ERR unknown command", 0) == 0;
}

}  // namespace agent::redis
