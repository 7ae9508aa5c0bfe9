// SPDX-License-Identifier: Apache-2.0
// The agent's one TCP listener (cpp-httplib, the only includer of httplib.h). Read-only by
// design: probes, metrics and the peer info agents exchange. Nothing reachable through it
// changes cluster state; local commands that do (handover) use a unix socket instead.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/result.h"

namespace httplib {
class Server;
}

namespace agent::http {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Params = std::multimap<std::string, std::string>;
// Handlers get the request's query parameters and must not block on Redis.
using Handler = std::function<Response(const Params& params)>;

class Server {
 public:
  Server();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void get(const std::string& path, Handler handler);
  // Binds (port 0 = any free port) and serves on a background thread.
  Status start(const std::string& host, int port);
  int port() const { return port_; }
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace agent::http
