// SPDX-License-Identifier: Apache-2.0
// A minimal HTTP/1.0 GET for the small answers agents read from each other (/peerinfo): one
// connection per request, one absolute deadline for connect, request and the whole reply, and a
// cap on the reply's size. A peer that never answers, drip-feeds its reply or sends a huge one
// costs the caller at most the deadline and the cap. Plain sockets, no third-party library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace agent::http {

// GET http://host:port/path (host an IP literal). The body of a 200 answer; Errc::Timeout at
// the deadline, Errc::Transport when the connection fails, Errc::Protocol on a reply that is
// not HTTP or longer than max_bytes (headers included), Errc::Server on another status.
Result<std::string> get(const std::string& host, int port, const std::string& path,
                        int64_t timeout_ms, size_t max_bytes);

}  // namespace agent::http
