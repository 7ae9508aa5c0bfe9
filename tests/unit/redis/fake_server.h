// SPDX-License-Identifier: Apache-2.0
// A scripted Redis stand-in for unit tests: a thread that listens on a loopback port, accepts
// connections one after another and hands each to a handler, which reads commands and writes
// whatever bytes the test wants (hostile ones included).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace agent::testing {

// One accepted client.
class FakePeer {
 public:
  FakePeer(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(stop) {}
  // The next command (a RESP array of bulk strings); nullopt when the client went away.
  std::optional<std::vector<std::string>> readCommand();
  // False once the client is gone.
  bool send(std::string_view bytes);
  bool stopping() const { return stop_.load(); }
  int fd() const { return fd_; }

 private:
  std::optional<std::string> readLine();
  bool fill();

  int fd_;
  const std::atomic<bool>& stop_;
  std::string buf_;
};

class FakeServer {
 public:
  using Handler = std::function<void(FakePeer&)>;
  explicit FakeServer(Handler handler);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void serve();

  Handler handler_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A handler that answers each command from a table (command name -> raw reply bytes), "-ERR
// unknown" for anything else, and counts the commands it saw.
FakeServer::Handler answering(std::vector<std::pair<std::string, std::string>> table,
                              std::atomic<int>* commands = nullptr);

// A TCP listener on 127.0.0.1 with a port the kernel picks (written to `port`).
UniqueFd listenLoopback(int backlog, int& port);

// Resident memory of this process in bytes (/proc/self/statm).
size_t residentBytes();

}  // namespace agent::testing
