// SPDX-License-Identifier: Apache-2.0
// File helpers. writeAtomically is the only way the agent replaces a file: a reader (Redis, a
// crashed-and-restarted agent) sees either the old or the new contents, never a mix or nothing.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace agent::files {

// Reads a whole file. Errc::NotFound when it does not exist, Errc::Io otherwise.
Result<std::string> read(const std::string& path);

bool exists(const std::string& path);

// Temp file in the same directory, write loop, fsync, rename over `path`, fsync the directory.
// The temp file is removed on any failure; `path` is then untouched.
Status writeAtomically(const std::string& path, std::string_view content, mode_t mode = 0644);

// Unlinks `path` and fsyncs its directory, so the removal survives a crash. A file that is
// already gone is not an error.
Status remove(const std::string& path);

// Directory part of a path ("." when there is none).
std::string dirName(const std::string& path);
// File name part of a path (the whole path when it has no '/').
std::string baseName(const std::string& path);

}  // namespace agent::files
