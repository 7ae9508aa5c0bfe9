// SPDX-License-Identifier: Apache-2.0
// Certificates for tests, made by the openssl command line in a directory (unit tests of the
// certificate watch, the transport's end-to-end tests), and the child processes that make them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace agent::testing {

// Starts argv (searched in PATH) in its own session, stdout and stderr appended to `log`.
pid_t spawnLogged(const std::vector<std::string>& argv, const std::string& log);

// Runs a command to completion, its output into `log`; returns the exit code.
int runCommand(const std::vector<std::string>& argv, const std::string& log);

// Certificate authorities and certificates (EC P-256), each NAME.crt + NAME.key in the dir.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}
  void makeCa(const std::string& name);
  // A certificate signed by `ca`, for servers and clients alike; sans like
  // "DNS:redis-0.example,IP:127.0.0.1". `days` tells certificates of one test apart by expiry.
  void makeCert(const std::string& name, const std::string& ca, const std::string& sans,
                int days = 2);
  std::string crt(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  void openssl(const std::vector<std::string>& args);
  std::string dir_;
};

}  // namespace agent::testing
