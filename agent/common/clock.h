// SPDX-License-Identifier: Apache-2.0
// Monotonic milliseconds, for timeouts and ages; wall-clock milliseconds, for timestamps.
#pragma once

#include <chrono>
#include <cstdint>

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

}  // namespace agent
