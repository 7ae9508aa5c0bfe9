// SPDX-License-Identifier: Apache-2.0
#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace agent::files {

namespace {

std::string errnoText(int err) {
  return std::strerror(err);
}

Status writeAll(int fd, std::string_view content) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::Io, errnoText(errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status fsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.isValid()) return fail(Errc::Io, fmt::format("open {}: {}", dir, errnoText(errno)));
  if (::fsync(fd.get()) != 0) {
    return fail(Errc::Io, fmt::format("fsync {}: {}", dir, errnoText(errno)));
  }
  return {};
}

}  // namespace

Result<std::string> read(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.isValid()) {
    int err = errno;
    return fail(err == ENOENT ? Errc::NotFound : Errc::Io,
                fmt::format("cannot read {}: {}", path, errnoText(err)));
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::Io, fmt::format("cannot read {}: {}", path, errnoText(errno)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string baseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status writeAtomically(const std::string& path, std::string_view content, mode_t mode) {
  std::string dir = dirName(path);
  std::string tmpl = path + ".tmp-XXXXXX";
  UniqueFd fd(::mkstemp(tmpl.data()));
  if (!fd.isValid()) {
    return fail(Errc::Io,
                fmt::format("cannot create a temp file beside {}: {}", path, errnoText(errno)));
  }
  auto cleanup_error = [&](const std::string& what) -> Status {
    int err = errno;
    ::unlink(tmpl.c_str());
    return fail(Errc::Io, fmt::format("{} {}: {}", what, tmpl, errnoText(err)));
  };
  if (::fchmod(fd.get(), mode) != 0) return cleanup_error("chmod");
  if (Status st = writeAll(fd.get(), content); !st) {
    ::unlink(tmpl.c_str());
    return fail(Errc::Io, fmt::format("write {}: {}", tmpl, st.error().message));
  }
  if (::fsync(fd.get()) != 0) return cleanup_error("fsync");
  if (::close(fd.release()) != 0) return cleanup_error("close");
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return cleanup_error("rename over " + path + ",");
  return fsyncDir(dir);
}

Status remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail(Errc::Io, fmt::format("cannot remove {}: {}", path, errnoText(errno)));
  }
  return fsyncDir(dirName(path));
}

}  // namespace agent::files
