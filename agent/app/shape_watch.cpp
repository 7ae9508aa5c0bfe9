// SPDX-License-Identifier: Apache-2.0
#include "app/shape_watch.h"

#include "common/clock.h"
#include "common/log.h"

namespace agent::app {

namespace {

const log::Logger kLog("shape");

}  // namespace

ShapeWatch::ShapeWatch(std::string path, config::Shape initial)
    : path_(std::move(path)),
      current_(initial),
      watch_(path_.empty() ? std::vector<std::string>{} : std::vector<std::string>{path_}, [this] {
        if (StopSignal* wake = wake_.load(); wake != nullptr) wake->wake();
      }) {}

std::optional<config::Shape> ShapeWatch::poll() {
  if (path_.empty()) return std::nullopt;
  if (Status st = watch_.ensure(); !st && error_.empty()) {
    kLog.debug("Cannot watch the shape file's directory; reading it every 10s",
               {{"err", st.error().message}});
  }
  int64_t now = monotonicMs();
  uint64_t gen = watch_.generation();
  if (gen == seen_generation_ && read_ms_ != 0 && now - read_ms_ < kRereadMs) return std::nullopt;
  seen_generation_ = gen;
  read_ms_ = now;
  auto shape = config::readShapeFile(path_);
  if (!shape) {
    if (error_ != shape.error().message) {
      kLog.error("The shape file is not usable; keeping the shape in use",
                 {{"path", path_},
                  {"err", shape.error().message},
                  {"nodes", current_.nodes},
                  {"replicas", current_.replicas}});
    }
    error_ = shape.error().message;
    return std::nullopt;
  }
  if (!error_.empty()) kLog.info("The shape file is usable again", {{"path", path_}});
  error_.clear();
  if (*shape == current_) return std::nullopt;
  kLog.info("The cluster's shape changed", {{"path", path_},
                                            {"from", config::describeShape(current_)},
                                            {"to", config::describeShape(*shape)}});
  current_ = *shape;
  return current_;
}

}  // namespace agent::app
