// SPDX-License-Identifier: Apache-2.0
// Real servers for the transport's end-to-end tests: a small PKI made with the openssl command
// in a directory, and redis-server (or valkey-server) processes, each on its own
// loopback address (127.<RCA_TEST_NET_BASE>.250.N) and stopped by pid when the test ends.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace agent::e2e {

// The program's path in PATH, or "" when it is not installed.
std::string findProgram(const std::string& name);

// 127.<RCA_TEST_NET_BASE, default 100>.250.<host>: addresses no other test of the run uses.
std::string testAddress(int host);

// Runs a command to completion, its output into `log`; returns the exit code.
int runCommand(const std::vector<std::string>& argv, const std::string& log);

// Certificate authorities and certificates (EC P-256), each NAME.crt + NAME.key in the dir.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}
  void makeCa(const std::string& name);
  // A certificate signed by `ca`, for servers and clients alike; sans like
  // "DNS:redis-0.example,IP:127.0.0.1".
  void makeCert(const std::string& name, const std::string& ca, const std::string& sans);
  std::string crt(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  void openssl(const std::vector<std::string>& args);
  std::string dir_;
};

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
