// SPDX-License-Identifier: Apache-2.0
// Follows --shape-file (config/shape.h) while the agent runs: the chart mounts it from a
// ConfigMap, which the kubelet swaps by symlink like a Secret (watch/mounted_files.h), so a
// change of `cluster.nodes` reaches every agent without a pod restart. Each change is logged; a
// file that cannot be read or parsed is logged once as an error and the last good shape stays.
// The file is also read again every 10 s (events can be missed while a watcher restarts).
// Threads: the loop thread calls every method; the watcher's callback only wakes the loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "common/stop.h"
#include "config/shape.h"
#include "watch/mounted_files.h"

namespace agent::app {

class ShapeWatch {
 public:
  // `initial`: the shape the agent starts with (the file's when it was readable at start).
  ShapeWatch(std::string path, config::Shape initial);
  ~ShapeWatch() { stop(); }
  ShapeWatch(const ShapeWatch&) = delete;
  ShapeWatch& operator=(const ShapeWatch&) = delete;

  void setWake(StopSignal* wake) { wake_ = wake; }
  void stop() { watch_.stop(); }
  // The new shape when the file changed to a good one since the last call; nullopt otherwise.
  std::optional<config::Shape> poll();
  const config::Shape& current() const { return current_; }
  // The file's last error ("" while it is good or there is no file).
  const std::string& error() const { return error_; }

  static constexpr int64_t kRereadMs = 10000;

 private:
  std::string path_;
  config::Shape current_;
  std::string error_;
  std::atomic<StopSignal*> wake_{nullptr};
  watch::MountedFiles watch_;
  uint64_t seen_generation_ = 0;
  int64_t read_ms_ = 0;
};

}  // namespace agent::app
