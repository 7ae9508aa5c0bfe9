// SPDX-License-Identifier: Apache-2.0
#include "servers.h"

#include <doctest/doctest.h>
#include <fcntl.h>
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

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setsid();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

int runCommand(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = spawn(argv, log);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void Pki::openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  REQUIRE_MESSAGE(runCommand(argv, dir_ + "/openssl.log") == 0, "openssl failed; see openssl.log");
}

void Pki::makeCa(const std::string& name) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", key(name), "-out", crt(name), "-days", "2", "-subj", "/CN=" + name});
}

void Pki::makeCert(const std::string& name, const std::string& ca, const std::string& sans) {
  std::string ext = dir_ + "/" + name + ".ext";
  std::ofstream(ext) << "subjectAltName=" << sans << "\n"
                     << "extendedKeyUsage=serverAuth,clientAuth\n";
  std::string csr = dir_ + "/" + name + ".csr";
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", key(name), "-out", csr, "-subj", "/CN=" + name});
  openssl({"x509", "-req", "-in", csr, "-CA", crt(ca), "-CAkey", key(ca), "-CAcreateserial", "-out",
           crt(name), "-days", "2", "-extfile", ext});
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
  pid_ = spawn({binary, conf}, log_ + ".out");
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
