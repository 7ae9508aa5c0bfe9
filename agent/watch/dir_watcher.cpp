// SPDX-License-Identifier: Apache-2.0
#include "watch/dir_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace agent::watch {

namespace {

const log::Logger kLog("watch");

// Written and closed (Redis <= 7.0 rewrites in place), renamed into place (7.2+: temp file +
// rename), removed. IN_MODIFY is left out on purpose: it fires per write(), before the file is
// complete, and IN_CLOSE_WRITE follows anyway.
constexpr uint32_t kFileEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM;
constexpr uint32_t kDirGone = IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;

}  // namespace

Result<std::unique_ptr<DirWatcher>> DirWatcher::start(const std::string& dir,
                                                      std::vector<std::string> names,
                                                      Callback on_change) {
  UniqueFd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.isValid()) {
    return fail(Errc::Io, fmt::format("inotify_init1: {}", std::strerror(errno)));
  }
  if (inotify_add_watch(fd.get(), dir.c_str(),
                        kFileEvents | IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
    int err = errno;
    return fail(err == ENOENT || err == ENOTDIR ? Errc::NotFound : Errc::Io,
                fmt::format("inotify_add_watch {}: {}", dir, std::strerror(err)));
  }
  UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.isValid()) return fail(Errc::Io, fmt::format("eventfd: {}", std::strerror(errno)));
  // The constructor is private (the thread captures `this`, so the object never moves).
  return std::unique_ptr<DirWatcher>(
      new DirWatcher(std::move(fd), std::move(stop), std::move(names), std::move(on_change)));
}

DirWatcher::DirWatcher(UniqueFd inotify, UniqueFd stop_event, std::vector<std::string> names,
                       Callback on_change)
    : inotify_(std::move(inotify)),
      stop_event_(std::move(stop_event)),
      names_(std::move(names)),
      on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { loop(); });
}

DirWatcher::~DirWatcher() {
  uint64_t one = 1;
  // A full eventfd counter (impossible here) would fail the write; the thread then still ends
  // at its next event, so the result is deliberately ignored.
  [[maybe_unused]] auto n = ::write(stop_event_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void DirWatcher::loop() {
  pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
  while (true) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) != 0 && !handleEvents()) {
      active_ = false;
      return;
    }
  }
}

// Reads every queued event; returns false when the directory itself is gone.
bool DirWatcher::handleEvents() {
  alignas(inotify_event) char buf[4096];
  while (true) {
    ssize_t len = ::read(inotify_.get(), buf, sizeof buf);
    if (len < 0) return errno == EAGAIN || errno == EINTR;
    if (len == 0) return true;
    bool gone = false;
    for (ssize_t off = 0; off < len;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if ((ev->mask & kDirGone) != 0) gone = true;
      // Events were dropped: any of the files may have changed.
      if ((ev->mask & IN_Q_OVERFLOW) != 0 && !names_.empty()) on_change_(names_.front());
      if (ev->len == 0 || (ev->mask & kFileEvents) == 0) continue;
      std::string name(ev->name);
      if (std::find(names_.begin(), names_.end(), name) != names_.end()) on_change_(name);
    }
    if (gone) {
      kLog.warn("The watched directory went away; polling only until it is back");
      return false;
    }
  }
}

}  // namespace agent::watch
