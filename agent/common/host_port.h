// SPDX-License-Identifier: Apache-2.0
// HostPort: a host (IPv4, IPv6 or a name) and a TCP port, and the one place that writes and reads
// "host:port" with IPv6 in brackets. Depends on nothing but the standard library and common/, so
// the static handover client can link it.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agent {

struct HostPort {
  std::string host;
  int port = 0;
  // "host:port"; an IPv6 host in brackets ("[fd00::1]:6379").
  std::string str() const;
  bool operator==(const HostPort&) const = default;
};

// The host as it goes before ":port" or into a URL: IPv6 in brackets, anything else as it is.
std::string bracketHost(std::string_view host);
// "host:port" for a port kept as text (nodes.conf keeps ports byte for byte).
std::string joinHostPort(std::string_view host, std::string_view port);

// Parses "host:port", "[v6]:port" or "v6-with-colons:port" (the last colon separates the port).
// The port must be 1..65535.
Result<HostPort> parseHostPort(std::string_view text);

}  // namespace agent
