// SPDX-License-Identifier: Apache-2.0
#include "support/pki.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace agent::testing {

pid_t spawnLogged(const std::vector<std::string>& argv, const std::string& log) {
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

int runCommand(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = spawnLogged(argv, log);
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

void Pki::makeCert(const std::string& name, const std::string& ca, const std::string& sans,
                   int days) {
  std::string ext = dir_ + "/" + name + ".ext";
  std::ofstream(ext) << "subjectAltName=" << sans << "\n"
                     << "extendedKeyUsage=serverAuth,clientAuth\n";
  std::string csr = dir_ + "/" + name + ".csr";
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", key(name), "-out", csr, "-subj", "/CN=" + name});
  openssl({"x509", "-req", "-in", csr, "-CA", crt(ca), "-CAkey", key(ca), "-CAcreateserial", "-out",
           crt(name), "-days", std::to_string(days), "-extfile", ext});
}

}  // namespace agent::testing
