// SPDX-License-Identifier: Apache-2.0
#include "common/host_port.h"

#include "common/text.h"

namespace agent {

std::string bracketHost(std::string_view host) {
  if (host.find(':') == std::string_view::npos) return std::string(host);
  std::string out = "[";
  out += host;
  out += ']';
  return out;
}

std::string joinHostPort(std::string_view host, std::string_view port) {
  std::string out = bracketHost(host);
  out += ':';
  out += port;
  return out;
}

std::string HostPort::str() const {
  return joinHostPort(host, std::to_string(port));
}

Result<HostPort> parseHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail(Errc::Invalid, "expected HOST:PORT");
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto port = text::parseUint(text.substr(colon + 1));
  if (host.empty() || !port || *port == 0 || *port > 65535) {
    return fail(Errc::Invalid, "expected HOST:PORT with a port from 1 to 65535");
  }
  return HostPort{std::string(host), static_cast<int>(*port)};
}

}  // namespace agent
