// SPDX-License-Identifier: Apache-2.0
// Real servers for the transport's end-to-end tests: redis-server (or valkey-server)
// processes, each on its own loopback address (127.<RCA_TEST_NET_BASE>.250.N) and stopped by
// pid when the test ends; certificates come from support/pki.h.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/pki.h"

namespace agent::e2e {

// The program's path in PATH, or "" when it is not installed.
std::string findProgram(const std::string& name);

// 127.<RCA_TEST_NET_BASE, default 100>.250.<host>: addresses no other test of the run uses.
std::string testAddress(int host);

using testing::Pki;
using testing::runCommand;

// One server process with the given config lines, stopped (SIGTERM, then SIGKILL) by pid.
class ServerProcess {
 public:
  ServerProcess(const std::string& binary, const std::string& dir, const std::string& name,
                const std::vector<std::string>& config);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // Waits until something accepts TCP connections at host:port.
  void waitListening(const std::string& host, int port);
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_;
};

}  // namespace agent::e2e
