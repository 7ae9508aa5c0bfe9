// SPDX-License-Identifier: Apache-2.0
#include "servers.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "redis/socket.h"
#include "support/pki.h"

namespace agent::e2e {

std::string findProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string testAddress(int host) {
  const char* base = std::getenv("RCA_TEST_NET_BASE");
  return "127." + std::string(base != nullptr ? base : "100") + ".250." + std::to_string(host);
}

ServerProcess::ServerProcess(const std::string& binary, const std::string& dir,
                             const std::string& name, const std::vector<std::string>& config) {
  std::string conf = dir + "/" + name + ".conf";
  log_ = dir + "/" + name + ".log";
  {
    std::ofstream out(conf);
    out << "daemonize no\nsave \"\"\nappendonly no\nprotected-mode no\n";
    out << "dir " << dir << "\nlogfile " << log_ << "\n";
    for (const auto& line : config) out << line << "\n";
  }
  pid_ = testing::spawnLogged({binary, conf}, log_ + ".out");
}

ServerProcess::~ServerProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void ServerProcess::waitListening(const std::string& host, int port) {
  int64_t deadline = monotonicMs() + 10000;
  while (monotonicMs() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;  // reaped: never signal that pid again
      FAIL("the server exited:\n" << log());
    }
    if (redis::connectTcp({host, port}, monotonicMs() + 200, nullptr)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("the server did not listen within 10 s:\n" << log());
}

std::string ServerProcess::log() const {
  std::ifstream in(log_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace agent::e2e
