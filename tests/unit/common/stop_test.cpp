// SPDX-License-Identifier: Apache-2.0
#include "common/stop.h"

#include <doctest/doctest.h>

#include <thread>

#include "common/clock.h"

using namespace agent;

TEST_CASE("wake cuts a wakeable sleep short, once") {
  StopSignal s;
  s.wake();
  int64_t begin = monotonicMs();
  CHECK_FALSE(s.waitFor(5000));
  CHECK(monotonicMs() - begin < 1000);
  // Consumed: the next sleep runs its full length.
  begin = monotonicMs();
  CHECK_FALSE(s.waitFor(100));
  CHECK(monotonicMs() - begin >= 100);
}

TEST_CASE("a non-wakeable sleep leaves the wake pending") {
  StopSignal s;
  s.wake();
  int64_t begin = monotonicMs();
  CHECK_FALSE(s.waitFor(100, false));
  CHECK(monotonicMs() - begin >= 100);
  begin = monotonicMs();
  CHECK_FALSE(s.waitFor(5000));
  CHECK(monotonicMs() - begin < 1000);
}

TEST_CASE("a stop ends any sleep and is reported") {
  StopSignal s;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s.request();
  });
  int64_t begin = monotonicMs();
  CHECK(s.waitFor(5000, false));
  CHECK(monotonicMs() - begin < 2000);
  t.join();
  CHECK(s.requested());
  CHECK(s.waitFor(5000));
}
