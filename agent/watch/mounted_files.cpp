// SPDX-License-Identifier: Apache-2.0
#include "watch/mounted_files.h"

#include <algorithm>

#include "common/files.h"

namespace agent::watch {

namespace {

// The symlink the kubelet swaps (pkg/volume/util/atomic_writer.go in Kubernetes).
constexpr const char* kDataLink = "..data";

}  // namespace

MountedFiles::MountedFiles(std::vector<std::string> paths, std::function<void()> on_change)
    : on_change_(std::move(on_change)) {
  for (const auto& p : paths) {
    std::string dir = files::dirName(p);
    auto it = std::find_if(dirs_.begin(), dirs_.end(), [&](const Dir& d) { return d.path == dir; });
    if (it == dirs_.end()) {
      dirs_.push_back({dir, {kDataLink}, nullptr});
      it = dirs_.end() - 1;
    }
    it->names.push_back(files::baseName(p));
  }
}

void MountedFiles::changed() {
  generation_.fetch_add(1);
  if (on_change_) on_change_();
}

Status MountedFiles::ensure() {
  Status first;
  for (auto& d : dirs_) {
    if (d.watcher && d.watcher->active()) continue;
    auto w = DirWatcher::start(d.path, d.names, [this](const std::string&) { changed(); });
    if (!w) {
      d.watcher.reset();
      if (first) first = w.error();
      continue;
    }
    d.watcher = std::move(*w);
    generation_.fetch_add(1);
  }
  return first;
}

void MountedFiles::stop() {
  for (auto& d : dirs_) d.watcher.reset();
}

bool MountedFiles::active() const {
  return !dirs_.empty() && std::all_of(dirs_.begin(), dirs_.end(), [](const Dir& d) {
    return d.watcher && d.watcher->active();
  });
}

}  // namespace agent::watch
