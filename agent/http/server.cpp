// SPDX-License-Identifier: Apache-2.0
#include "http/server.h"

#include <httplib.h>

#include <fmt/format.h>

#include "common/host_port.h"
#include "common/log.h"

namespace agent::http {

namespace {

const log::Logger kLog("http");

// Debian's cpp-httplib is a compiled library, so CPPHTTPLIB_THREAD_POOL_COUNT cannot be set
// at build time; a small pool is set at run time instead. Probes and scrapes are answered from
// memory, so four workers are plenty and keep the agent's footprint small.
constexpr size_t kWorkers = 4;

}  // namespace

Server::Server() : server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  // Idle keep-alive connections pin a worker; keep them short so probes never queue.
  server_->set_keep_alive_max_count(100);
  // Headers and body go out in separate writes; Nagle must not hold the second one back.
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_timeout(2);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_exception_handler(
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
  server_->Get(path,
               [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                 Response r = handler(req.params);
                 res.status = r.status;
                 res.set_content(r.body, r.content_type);
               });
}

Status Server::start(const std::string& host, int port) {
  int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    return fail(Errc::Io,
                fmt::format("cannot listen on {}:{} (address in use or not local)", host, port));
  }
  port_ = bound;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return {};
}

void Server::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

Result<std::string> fetch(const std::string& host, int port, const std::string& path,
                          int64_t timeout_ms) {
  httplib::Client client(bracketHost(host), port);
  auto sec = static_cast<time_t>(timeout_ms / 1000);
  auto usec = static_cast<time_t>((timeout_ms % 1000) * 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  auto res = client.Get(path);
  if (!res) {
    auto err = res.error();
    Errc code = err == httplib::Error::ConnectionTimeout || err == httplib::Error::Read
                    ? Errc::Timeout
                    : Errc::Transport;
    return fail(code, fmt::format("GET {}:{}{}: {}", host, port, path, httplib::to_string(err)));
  }
  if (res->status != 200) {
    return fail(Errc::Server, fmt::format("GET {}:{}{}: HTTP {}", host, port, path, res->status));
  }
  return res->body;
}

}  // namespace agent::http
