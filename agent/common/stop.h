// SPDX-License-Identifier: Apache-2.0
// A stop request shared between the signal thread and the loops that must end on SIGTERM.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace agent {

class StopSignal {
 public:
  void request() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  bool requested() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Sleeps up to `ms`; returns true at once when a stop was requested.
  bool waitFor(int64_t ms) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopped_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace agent
