// SPDX-License-Identifier: Apache-2.0
// The control socket's line protocol, shared by the agent and the handover client. Standard
// library only: the static client (handover_main.cpp) links this without fmt or spdlog.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agent::control {

// The client sends one request line; the agent answers with any number of "step" lines and
// one final line, then closes the connection:
//   -> handover timeout_ms=20000
//   <- step this node is a master with slots 0-5460; best replica is ...
//   <- done roles switched in 74 ms; ...        (or "skipped <why>" or "failed <why>")
enum class LineKind { Step, Done, Skipped, Failed };

struct Line {
  LineKind kind = LineKind::Step;
  std::string text;
  bool final() const { return kind != LineKind::Step; }
};

struct Request {
  int64_t timeout_ms = 0;
};

// The socket's file name in the runtime dir (config::Config::socketPath() builds the same path).
inline constexpr const char* kSocketName = "agent.sock";

// Longest line either side accepts; longer input is a protocol error, not an allocation.
inline constexpr size_t kMaxLine = 4096;

std::string renderRequest(const Request& request);
// Errc::Invalid for anything but a well-formed handover request.
Result<Request> parseRequest(std::string_view line);

// One line with its trailing '\n'; newlines inside `text` become spaces.
std::string renderLine(LineKind kind, std::string_view text);
std::optional<Line> parseLine(std::string_view line);
const char* lineKindName(LineKind kind);

}  // namespace agent::control
