// SPDX-License-Identifier: Apache-2.0
// Monotonic milliseconds, for timeouts and ages; wall-clock milliseconds, for timestamps. Code
// that decides by time takes a Clock&, so unit tests can move time instead of waiting for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

namespace agent {

inline int64_t monotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Time as the cluster logic sees it. The system clock is the real one; tests use a clock that
// moves only when told to, or when the code under test sleeps.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t monotonicMs() = 0;
  virtual int64_t wallMs() = 0;
  virtual void sleepMs(int64_t ms) = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t monotonicMs() override { return agent::monotonicMs(); }
  int64_t wallMs() override { return agent::wallMs(); }
  void sleepMs(int64_t ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
};

// The one real clock; stateless, so any thread may use it.
inline Clock& systemClock() {
  static SystemClock clock;
  return clock;
}

}  // namespace agent
