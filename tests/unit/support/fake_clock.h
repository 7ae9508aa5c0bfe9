// SPDX-License-Identifier: Apache-2.0
// Test helper: a clock that moves only when a test advances it or the code under test sleeps,
// so waits, deadlines and rate limits are tested in no time and exactly.
#pragma once

#include <cstdint>

#include "common/clock.h"

namespace agent::testing {

class FakeClock final : public Clock {
 public:
  int64_t monotonicMs() override { return mono_; }
  int64_t wallMs() override { return wall_; }
  void sleepMs(int64_t ms) override {
    slept_ += ms;
    advance(ms);
  }

  void advance(int64_t ms) {
    mono_ += ms;
    wall_ += ms;
  }
  int64_t slept() const { return slept_; }  // total time the code under test slept

 private:
  int64_t mono_ = 1000000;        // an arbitrary uptime
  int64_t wall_ = 1764079308000;  // an arbitrary date (2025-11-25)
  int64_t slept_ = 0;
};

}  // namespace agent::testing
