// SPDX-License-Identifier: Apache-2.0
#include "http/server.h"

#include <httplib.h>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/log.h"

namespace agent::http {

namespace {

const log::Logger kLog("http");

// Refused connections are logged as a count, at most this often: an attack must not flood
// the log.
constexpr int64_t kRefusalLogEveryMs = 10000;

// A request head the listener has read in full, as the stream httplib parses; what httplib
// writes is collected as the answer. Nothing here touches the socket.
class HeadStream final : public httplib::Stream {
 public:
  explicit HeadStream(const Request& request) : request_(request) {}

  bool is_readable() const override { return true; }  // NOLINT(readability-identifier-naming)
  bool is_writable() const override { return true; }  // NOLINT(readability-identifier-naming)
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, request_.head.size() - pos_);
    std::memcpy(ptr, request_.head.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  // NOLINTNEXTLINE(readability-identifier-naming)
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = request_.remote_ip;
    port = request_.remote_port;
  }
  // NOLINTNEXTLINE(readability-identifier-naming)
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = request_.local_ip;
    port = request_.local_port;
  }
  // No socket: the listener owns it. -1 also keeps httplib's FD_SETSIZE check quiet.
  socket_t socket() const override { return INVALID_SOCKET; }

  std::string& out() { return out_; }

 private:
  const Request& request_;
  size_t pos_ = 0;
  std::string out_;
};

}  // namespace

// httplib's routing, parsing and rendering, fed by the listener. One request per connection:
// every answer says "Connection: close" (probes and scrapes open a connection per request
// anyway, and a kept-alive idle connection would hold a table slot for nothing).
class Router final : public httplib::Server {
 public:
  std::string answer(const Request& request) {
    HeadStream stream(request);
    bool closed = true;
    process_request(stream, /*close_connection=*/true, closed, nullptr);
    return std::move(stream.out());
  }
};

Server::Server(Limits limits) : limits_(limits), router_(std::make_unique<Router>()) {
  router_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        kLog.warn("HTTP handler failed", {{"path", req.path}});
        res.status = 500;
        res.set_content("internal error\n", "text/plain; charset=utf-8");
      });
}

Server::~Server() {
  stop();
}

void Server::get(const std::string& path, Handler handler) {
  router_->Get(path,
               [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                 Response r = handler(req.params);
                 res.status = r.status;
                 res.set_content(r.body, r.content_type);
               });
}

Status Server::start(const std::string& host, int port) {
  auto listener = Listener::start(
      host, port, limits_, [this](const Request& r) { return router_->answer(r); },
      [this](Refusal why) { noteRefusal(why); });
  if (!listener) {
    return fail(Errc::Io,
                fmt::format("{} (address in use or not local)", listener.error().message));
  }
  listener_ = std::move(*listener);
  return {};
}

void Server::stop() {
  listener_.reset();
}

void Server::noteRefusal(Refusal why) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  if (on_refusal_) on_refusal_(why);
  ++refusals_unlogged_;
  int64_t now = monotonicMs();
  if (now - last_refusal_log_ms_ < kRefusalLogEveryMs) return;
  kLog.warn(
      "Closed HTTP connections at the listener's limits (slow, silent, oversized or too "
      "many from one address)",
      {{"count", refusals_unlogged_},
       {"last", refusalName(why)},
       {"total", refused_.load(std::memory_order_relaxed)}});
  refusals_unlogged_ = 0;
  last_refusal_log_ms_ = now;
}

}  // namespace agent::http
