// SPDX-License-Identifier: Apache-2.0
#include "control/install.h"

#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

#include "common/files.h"

namespace agent::control {

namespace {

Result<std::string> ownExecutable() {
  std::string buf(4096, '\0');
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) {
    return fail(Errc::Io, fmt::format("readlink /proc/self/exe: {}", std::strerror(errno)));
  }
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace

Result<std::string> installClient(const std::string& runtime_dir) {
  auto self = ownExecutable();
  if (!self) return self.error();
  std::string source = files::dirName(*self) + "/" + kClientBinary;
  auto content = files::read(source);
  if (!content) return content.error();
  std::string target = runtime_dir + "/" + kInstalledClient;
  // 0755: running the client grants nothing by itself; the socket's mode decides who is heard.
  if (Status st = files::writeAtomically(target, *content, 0755); !st) return st.error();
  return target;
}

}  // namespace agent::control
