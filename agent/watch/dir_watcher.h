// SPDX-License-Identifier: Apache-2.0
// Watches one directory with inotify and reports when chosen files in it change. The directory,
// not the file, is watched: Redis 7.2+ replaces nodes.conf by rename (a watch on the file would
// stay on the old inode), while 7.0 rewrites it in place (docs/redis-facts.md, "nodes.conf").
// Depends on common/ only.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agent::watch {

class DirWatcher final {
 public:
  // Called on the watcher's own thread with the name of the file that changed; must be quick
  // and must not throw (it typically only wakes another thread).
  using Callback = std::function<void(const std::string& name)>;

  // Starts watching `dir` for the files in `names` being written and closed (in-place rewrite),
  // renamed into place, or removed. Errc::NotFound when `dir` does not exist, Errc::Io when
  // inotify is unavailable (e.g. fs.inotify.max_user_watches exhausted).
  static Result<std::unique_ptr<DirWatcher>> start(const std::string& dir,
                                                   std::vector<std::string> names,
                                                   Callback on_change);
  // Stops the thread and closes the inotify descriptor.
  ~DirWatcher();
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  // False once the directory itself went away (deleted or moved); the owner then starts a new
  // watcher when the directory is back. Any thread may ask.
  bool active() const { return active_.load(); }

 private:
  DirWatcher(UniqueFd inotify, UniqueFd stop_event, std::vector<std::string> names,
             Callback on_change);
  void loop();
  bool handleEvents();

  UniqueFd inotify_;
  UniqueFd stop_event_;
  std::vector<std::string> names_;
  Callback on_change_;
  std::atomic<bool> active_{true};
  std::thread thread_;
};

}  // namespace agent::watch
