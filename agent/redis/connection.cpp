// SPDX-License-Identifier: Apache-2.0
#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <fmt/format.h>
#include <cctype>
#include <cerrno>
#include <string_view>

#include "common/files.h"

namespace agent::redis {

namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

timeval toTimeval(int64_t ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = Reply::Type::Nil;
  }
  return out;
}

// hiredis reports a receive timeout as an I/O error with EAGAIN in errno.
Error transportError(const redisContext* c, const Endpoint& ep) {
  bool timeout = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
  std::string what = c->errstr[0] != '\0' ? c->errstr : "connection lost";
  if (timeout) what = "timed out";
  return fail(timeout ? Errc::Timeout : Errc::Transport, fmt::format("{}: {}", ep.str(), what));
}

}  // namespace

std::string Endpoint::str() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

void Connection::ContextFree::operator()(redisContext* c) const {
  redisFree(c);
}

Connection::Connection(std::unique_ptr<redisContext, ContextFree> ctx, Endpoint endpoint)
    : ctx_(std::move(ctx)), endpoint_(std::move(endpoint)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Result<Connection> Connection::open(const Endpoint& endpoint, const ConnectOptions& options) {
  // hiredis 0.14 applies this timeout to connect only; redisSetTimeout covers commands.
  std::unique_ptr<redisContext, ContextFree> ctx(redisConnectWithTimeout(
      endpoint.host.c_str(), endpoint.port, toTimeval(options.connect_timeout_ms)));
  if (!ctx) return fail(Errc::Transport, fmt::format("{}: out of memory", endpoint.str()));
  if (ctx->err != 0) {
    std::string_view errstr = ctx->errstr;
    bool timeout = errno == ETIMEDOUT || errno == EINPROGRESS ||
                   errstr.find("timed out") != std::string_view::npos;
    std::string what = timeout ? "connect timed out" : ctx->errstr;
    return fail(timeout ? Errc::Timeout : Errc::Transport,
                fmt::format("{}: {}", endpoint.str(), what));
  }
  if (redisSetTimeout(ctx.get(), toTimeval(options.command_timeout_ms)) != REDIS_OK) {
    return fail(Errc::Transport, fmt::format("{}: cannot set timeout", endpoint.str()));
  }
  Connection conn(std::move(ctx), endpoint);
  conn.read_only_ = options.read_only;
  if (options.password) {
    auto reply = conn.command({"AUTH", *options.password});
    // A server without requirepass answers AUTH with an error; that is not a failure to reach it.
    if (!reply && !(reply.error().code == Errc::Server &&
                    reply.error().message.find("without any password") != std::string::npos)) {
      return reply.error();
    }
  }
  return conn;
}

Result<Reply> Connection::command(const std::vector<std::string>& args) {
  if (!healthy_)
    return fail(Errc::Transport, fmt::format("{}: connection broken", endpoint_.str()));
  if (read_only_ && !isReadOnlyCommand(args)) {
    return fail(Errc::Refused, fmt::format("{}: {} refused: the agent only observes (--mode "
                                           "observe)",
                                           endpoint_.str(), args.empty() ? "" : args[0]));
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data())));
  if (!reply) {
    healthy_ = false;
    return transportError(ctx_.get(), endpoint_);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return fail(Errc::Server, std::string(reply->str, reply->len));
  }
  return convert(reply.get());
}

Result<std::string> Connection::commandString(const std::vector<std::string>& args) {
  auto reply = command(args);
  if (!reply) return reply.error();
  if (reply->type != Reply::Type::String && reply->type != Reply::Type::Status) {
    return fail(Errc::Protocol, fmt::format("{}: {} did not return a string", endpoint_.str(),
                                            args.empty() ? "" : args[0]));
  }
  return std::move(reply->str);
}

Result<int64_t> Connection::commandInteger(const std::vector<std::string>& args) {
  auto reply = command(args);
  if (!reply) return reply.error();
  if (reply->type != Reply::Type::Integer) {
    return fail(Errc::Protocol, fmt::format("{}: {} did not return an integer", endpoint_.str(),
                                            args.empty() ? "" : args[0]));
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
  auto upper = [](std::string_view s) {
    std::string out(s);
    for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return out;
  };
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

}  // namespace agent::redis
