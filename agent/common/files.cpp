// SPDX-License-Identifier: Apache-2.0
#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <functional>

#include "common/unique_fd.h"

namespace agent::files {

namespace {

std::string errnoText(int err) {
  return std::strerror(err);
}

FileInfo::Type typeOf(mode_t mode) {
  if (S_ISREG(mode)) return FileInfo::Type::Regular;
  if (S_ISDIR(mode)) return FileInfo::Type::Directory;
  if (S_ISFIFO(mode)) return FileInfo::Type::Fifo;
  if (S_ISSOCK(mode)) return FileInfo::Type::Socket;
  if (S_ISCHR(mode) || S_ISBLK(mode)) return FileInfo::Type::Device;
  return FileInfo::Type::Other;
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

Result<std::string> read(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would wait for a writer forever.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.isValid()) {
    int err = errno;
    return fail(err == ENOENT ? Errc::NotFound : Errc::Io,
                fmt::format("cannot read {}: {}", path, errnoText(err)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return fail(Errc::Io, fmt::format("cannot read {}: {}", path, errnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::Invalid,
                fmt::format("{} is a {}, not a regular file", path, typeName(typeOf(st.st_mode))));
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
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return fail(Errc::Invalid, fmt::format("{} is larger than {} MiB; refusing to read it whole",
                                             path, max_bytes / (size_t{1024} * 1024)));
    }
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

const char* typeName(FileInfo::Type type) {
  switch (type) {
    case FileInfo::Type::Missing: return "missing file";
    case FileInfo::Type::Regular: return "regular file";
    case FileInfo::Type::Directory: return "directory";
    case FileInfo::Type::Fifo: return "FIFO";
    case FileInfo::Type::Socket: return "socket";
    case FileInfo::Type::Device: return "device";
    case FileInfo::Type::Other: return "special file";
  }
  return "?";
}

Result<FileInfo> inspect(const std::string& path) {
  FileInfo info;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return info;
    return fail(Errc::Io, fmt::format("cannot look at {}: {}", path, errnoText(errno)));
  }
  if (S_ISLNK(st.st_mode)) {
    info.symlink = true;
    info.link_owner = st.st_uid;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return info;  // a dangling link: nothing there yet
      return fail(Errc::Io, fmt::format("cannot follow {}: {}", path, errnoText(errno)));
    }
  }
  info.type = typeOf(st.st_mode);
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.mode = st.st_mode & 07777;
  info.size = st.st_size;
  return info;
}

namespace {

// Writes `content` to a new temp file beside `path`, shaped by `shape` (chmod/chown), then
// renames it over `path` and fsyncs the directory.
Status replace(const std::string& path, std::string_view content,
               const std::function<Status(int fd)>& shape) {
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
  if (Status st = shape(fd.get()); !st) {
    ::unlink(tmpl.c_str());
    return st;
  }
  if (Status st = writeAll(fd.get(), content); !st) {
    ::unlink(tmpl.c_str());
    return fail(Errc::Io, fmt::format("write {}: {}", tmpl, st.error().message));
  }
  if (::fsync(fd.get()) != 0) return cleanup_error("fsync");
  if (::close(fd.release()) != 0) return cleanup_error("close");
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return cleanup_error("rename over " + path + ",");
  return fsyncDir(dir);
}

}  // namespace

Status writeAtomically(const std::string& path, std::string_view content, mode_t mode) {
  return replace(path, content, [&](int fd) -> Status {
    if (::fchmod(fd, mode) != 0) return fail(Errc::Io, fmt::format("chmod: {}", errnoText(errno)));
    return {};
  });
}

Status writeAtomicallyLike(const std::string& path, std::string_view content, const FileInfo& like,
                           bool* kept_owner) {
  return replace(path, content, [&](int fd) -> Status {
    bool kept = ::fchown(fd, like.uid, like.gid) == 0;
    if (!kept && errno != EPERM) {
      return fail(Errc::Io, fmt::format("chown: {}", errnoText(errno)));
    }
    if (kept_owner != nullptr) *kept_owner = kept;
    // After fchown: it may clear set-id bits, which then must come back.
    if (::fchmod(fd, like.mode) != 0) {
      return fail(Errc::Io, fmt::format("chmod: {}", errnoText(errno)));
    }
    return {};
  });
}

Status remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail(Errc::Io, fmt::format("cannot remove {}: {}", path, errnoText(errno)));
  }
  return fsyncDir(dirName(path));
}

}  // namespace agent::files
