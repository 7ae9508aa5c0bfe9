// SPDX-License-Identifier: Apache-2.0
#include "probes/lifecycle.h"

#include <fmt/format.h>
#include <algorithm>

namespace agent::probes {

namespace {

constexpr int64_t kLivenessFloorMs = 30000;

}  // namespace

int64_t livenessLimitMs(int64_t poll_interval_ms) {
  return std::max(kLivenessFloorMs, 3 * poll_interval_ms);
}

std::vector<Check> livenessChecks(int64_t last_pass_ms, int64_t now_ms, int64_t limit_ms) {
  int64_t age = now_ms - last_pass_ms;
  if (age <= limit_ms) return {pass("loop")};
  return {hardFail("loop", fmt::format("no pass of the agent's loop finished for {}ms (limit {}ms)",
                                       age, limit_ms))};
}

std::vector<Check> startupChecks(int64_t passes) {
  if (passes > 0) return {pass("first-pass")};
  return {hardFail("first-pass", "the agent's loop has not finished its first pass yet")};
}

}  // namespace agent::probes
