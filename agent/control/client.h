// SPDX-License-Identifier: Apache-2.0
// The client side of the control socket: what the redis container's preStop runs. Standard
// library and POSIX only, so it links into the static handover client (no fmt, spdlog, hiredis).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "control/protocol.h"

namespace agent::control {

// Sends `request` to the agent listening on `socket_path` and calls `on_line` for each line of
// the answer as it arrives (step lines included). Returns the final line. Fails with
// Errc::Transport when no agent listens there (or it hung up before answering), Errc::Timeout
// when no final line arrived within `wait_ms`, Errc::Protocol on a line it cannot read.
// Blocking; any thread.
Result<Line> requestHandover(const std::string& socket_path, const Request& request,
                             int64_t wait_ms, const std::function<void(const Line&)>& on_line);

// The whole client command, shared by `redis-cluster-agent handover` and the static client:
// asks for a handover with `timeout_ms`, prints every line to stdout as it arrives, and returns
// the exit code: 0 when roles switched or there was nothing to do, 1 when the handover failed
// or no agent answered (a failed preStop hook shows up as a FailedPreStopHook event).
int runHandoverClient(const std::string& socket_path, int64_t timeout_ms);

// How much longer than its own timeout the client waits for the agent's final line: the agent
// may finish a Redis command that was in flight when the budget ran out.
inline constexpr int64_t kAnswerMarginMs = 5000;

}  // namespace agent::control
