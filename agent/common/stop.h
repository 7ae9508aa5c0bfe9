// SPDX-License-Identifier: Apache-2.0
// A stop request shared between the signal thread and the loops that must end on SIGTERM, plus
// a wake-up that cuts a loop's sleep short (nodes.conf changed: look again now).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
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
  // Ends the current (or the next) wakeable waitFor early. Any thread may call it; several
  // wakes before the sleeper notices count as one.
  void wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }
  // Sleeps up to `ms`; returns true at once when a stop was requested. A wakeable wait also
  // returns (false) on wake() and consumes it; a non-wakeable one leaves it pending.
  bool waitFor(int64_t ms, bool wakeable = true) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms),
                 [&] { return stopped_ || (wakeable && woken_); });
    if (wakeable) woken_ = false;
    return stopped_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool woken_ = false;
};

}  // namespace agent
