// SPDX-License-Identifier: Apache-2.0
// Which connections the listener keeps when a new one arrives: at most max_per_client from one
// address and max_total in all. A full table does not refuse the newcomer, it closes the
// connection that has waited longest without being answered, from the client holding the most:
// a probe sends its request within a millisecond of connecting, so it is always the newest,
// while a slowloris or a silent connection is always among the oldest. Refusing newcomers
// instead would let 200 silent connections lock the kubelet out. Pure, so it is unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent::http {

struct ConnectionLimits {
  size_t max_total = 128;
  size_t max_per_client = 16;
};

// Where a connection stands, in the order they are given up: one already answered (draining)
// first, then one still sending its request, then one not reading its answer. A request being
// answered by a worker is never given up (the worker is quick).
enum class Phase { Draining, Reading, Writing, Working };

struct OpenConnection {
  uint64_t id = 0;
  std::string client;    // the peer's IP address
  int64_t since_ms = 0;  // accepted at (monotonic)
  Phase phase = Phase::Reading;
};

struct Admission {
  bool admit = true;
  std::vector<uint64_t> close;  // connections to close first (at most two)
};

Admission admit(const std::vector<OpenConnection>& open, std::string_view client,
                const ConnectionLimits& limits);

}  // namespace agent::http
