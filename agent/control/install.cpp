// SPDX-License-Identifier: Apache-2.0
#include "control/install.h"

#include <sys/stat.h>
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

Status makeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
  return fail(Errc::Io, fmt::format("cannot create {}: {}", path, std::strerror(errno)));
}

}  // namespace

Status ensureRuntimeDir(const std::string& runtime_dir) {
  struct stat st {};
  if (::stat(runtime_dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return fail(Errc::Io, fmt::format("{} exists and is not a directory", runtime_dir));
  }
  // Parents first, as mkdir -p does.
  for (size_t slash = runtime_dir.find('/', 1); slash != std::string::npos;
       slash = runtime_dir.find('/', slash + 1)) {
    if (Status made = makeDir(runtime_dir.substr(0, slash), 0755); !made) return made;
  }
  if (::mkdir(runtime_dir.c_str(), kRuntimeDirMode) != 0) {
    if (errno == EEXIST) return {};  // made by someone else meanwhile: theirs, left as it is
    return fail(Errc::Io, fmt::format("cannot create {}: {}", runtime_dir, std::strerror(errno)));
  }
  // mkdir applies the umask; the group must get its bits whatever the umask is.
  if (::chmod(runtime_dir.c_str(), kRuntimeDirMode) != 0) {
    return fail(Errc::Io, fmt::format("cannot chmod {}: {}", runtime_dir, std::strerror(errno)));
  }
  return {};
}

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
