// SPDX-License-Identifier: Apache-2.0
// The agent's one TCP listener. Read-only by design: probes, metrics and the peer info agents
// exchange. Nothing reachable through it changes cluster state; local commands that do
// (handover) use a unix socket instead. cpp-httplib parses requests and renders answers; the
// sockets are the listener's (http/listener.h), which bounds every read and write in time and
// size and the connections per client and in all, so no client can starve the probes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/listener.h"

namespace agent::http {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Params = std::multimap<std::string, std::string>;
// Handlers get the request's query parameters and must not block on Redis. They run on the
// listener's workers, several at once.
using Handler = std::function<Response(const Params& params)>;

class Router;

class Server {
 public:
  explicit Server(Limits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Before start() only.
  void get(const std::string& path, Handler handler);
  // Called on the I/O thread for every connection a limit closed (after start(): before).
  void onRefusal(OnRefusal callback) { on_refusal_ = std::move(callback); }
  // Binds (port 0 = any free port) and serves on background threads.
  Status start(const std::string& host, int port);
  int port() const { return listener_ ? listener_->port() : 0; }
  void stop();
  // Connections closed by a limit so far (thread-safe).
  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  void noteRefusal(Refusal why);

  Limits limits_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Listener> listener_;
  OnRefusal on_refusal_;
  std::atomic<int64_t> refused_{0};
  int64_t refusals_unlogged_ = 0;  // I/O thread only
  int64_t last_refusal_log_ms_ = 0;
};

}  // namespace agent::http
