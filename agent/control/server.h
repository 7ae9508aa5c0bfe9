// SPDX-License-Identifier: Apache-2.0
// The agent's control socket: a unix stream socket in the runtime dir, an emptyDir shared only
// with the redis container of the same pod. It is the one way to ask the agent to change the
// cluster from outside (the handover of a preStop); the TCP listener stays read-only. The
// socket file is mode 0660, so only the agent's user and group (the pod's fsGroup) can connect.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/protocol.h"

namespace agent::control {

// Sends one step line to the client (also when the client has gone: the work goes on).
using Emit = std::function<void(const std::string& text)>;
// Runs one handover and returns the final line (kind Done, Skipped or Failed). Called on the
// server's thread, one request at a time; it must bound its own run time.
using HandoverHandler = std::function<Line(const Request& request, const Emit& emit)>;

struct Pending;  // a connection whose request line has not come yet (server.cpp)

class Server {
 public:
  // Listens at `path`. A stale socket file left by an earlier agent is replaced; a live agent
  // there (Errc::Refused), any other kind of file (Errc::Refused) or a path that does not fit
  // a sockaddr_un (Errc::Invalid) is an error. The directory must exist.
  static Result<std::unique_ptr<Server>> start(const std::string& path, HandoverHandler handler);
  // Stops accepting, lets the request being served finish (the handler is bounded), and
  // removes the socket file.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Thread-safe: a request is being served right now.
  bool busy() const { return busy_.load(); }
  // Thread-safe: requests answered with a final line so far.
  int64_t served() const { return served_.load(); }
  const std::string& path() const { return path_; }

 private:
  Server(std::string path, HandoverHandler handler, UniqueFd listener, UniqueFd wake_read,
         UniqueFd wake_write, ino_t inode);
  void loop();
  bool advance(Pending& p);
  void acceptPending(std::vector<Pending>& pending);
  void expirePending(std::vector<Pending>& pending, int64_t now);
  void refuse(int fd, const std::string& why);
  void serve(int fd, const std::string& line);

  std::string path_;
  HandoverHandler handler_;
  UniqueFd listener_;
  UniqueFd wake_read_;
  UniqueFd wake_write_;
  ino_t inode_;
  std::atomic<bool> busy_{false};
  std::atomic<int64_t> served_{0};
  std::thread thread_;
};

}  // namespace agent::control
