// SPDX-License-Identifier: Apache-2.0
// File helpers. writeAtomically is the only way the agent replaces a file: a reader (Redis, a
// crashed-and-restarted agent) sees either the old or the new contents, never a mix or nothing.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace agent::files {

// The agent reads nothing larger whole: its files are small, and Redis pads nodes.conf to its
// old size at most.
inline constexpr size_t kMaxReadBytes = size_t{256} * 1024 * 1024;

// Reads a whole regular file. Errc::NotFound when it does not exist; Errc::Invalid when it is
// not a regular file (a FIFO would block the read forever) or larger than `max_bytes`;
// Errc::Io otherwise.
Result<std::string> read(const std::string& path, size_t max_bytes = kMaxReadBytes);

bool exists(const std::string& path);

// What is at a path, following a symbolic link (and saying so).
struct FileInfo {
  enum class Type { Missing, Regular, Directory, Fifo, Socket, Device, Other };
  Type type = Type::Missing;
  bool symlink = false;  // the path itself is a link; the rest describes its target
  uid_t link_owner = 0;  // who made the link (when symlink)
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;  // permission bits
  off_t size = 0;
};
Result<FileInfo> inspect(const std::string& path);
const char* typeName(FileInfo::Type type);

// Temp file in the same directory, write loop, fsync, rename over `path`, fsync the directory.
// The temp file is removed on any failure; `path` is then untouched.
Status writeAtomically(const std::string& path, std::string_view content, mode_t mode = 0644);
// The same, with the owner, group and permission bits `like` has now (a file Redis must still
// be able to open and lock after prepare, run as root, replaced it). An owner the process may
// not give away (not root) stays the process's own; `kept_owner` says whether it was kept.
Status writeAtomicallyLike(const std::string& path, std::string_view content, const FileInfo& like,
                           bool* kept_owner = nullptr);

// Unlinks `path` and fsyncs its directory, so the removal survives a crash. A file that is
// already gone is not an error.
Status remove(const std::string& path);

// Directory part of a path ("." when there is none).
std::string dirName(const std::string& path);
// File name part of a path (the whole path when it has no '/').
std::string baseName(const std::string& path);

}  // namespace agent::files
