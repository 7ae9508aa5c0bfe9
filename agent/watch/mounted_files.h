// SPDX-License-Identifier: Apache-2.0
// Watches files that live in a volume the kubelet keeps up to date (Secret, ConfigMap,
// projected): the password file, certificates. The kubelet never writes such a file in place. It
// writes the new contents into a fresh hidden directory (..2024_05_01_10_00_00.123456789),
// points a temporary symlink at it and renames that over `..data`; the visible files are
// symlinks through `..data` and do not change themselves. So the event to wait for is a move of
// `..data` in the file's directory. A plain file replaced by rename or rewritten in place (tests,
// other mounts) is seen too. A file mounted with subPath is never updated by the kubelet at all.
//
// Every event increases generation(); the owner re-reads the files when it moved, and should
// also re-read them now and then (events can be missed while a watcher is being restarted).
// Depends on common/ and watch/dir_watcher.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "watch/dir_watcher.h"

namespace agent::watch {

class MountedFiles {
 public:
  // `on_change` runs on a watcher thread after each event (it typically wakes a loop); it must
  // be quick and must not throw.
  MountedFiles(std::vector<std::string> paths, std::function<void()> on_change);
  ~MountedFiles() { stop(); }
  MountedFiles(const MountedFiles&) = delete;
  MountedFiles& operator=(const MountedFiles&) = delete;

  // Starts a watcher on every directory that has none running (one that lost its directory is
  // started again). The error of the first directory that cannot be watched; the others still
  // are. The owner's thread only.
  Status ensure();
  // Stops every watcher. The owner's thread only.
  void stop();
  // Events seen so far; a starting watcher counts one (the file may have changed unwatched).
  uint64_t generation() const { return generation_.load(); }
  bool active() const;

 private:
  struct Dir {
    std::string path;
    std::vector<std::string> names;  // "..data" and the watched files' own names
    std::unique_ptr<DirWatcher> watcher;
  };
  void changed();

  std::vector<Dir> dirs_;
  std::function<void()> on_change_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace agent::watch
