// SPDX-License-Identifier: Apache-2.0
#include "peers/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <memory>
#include <vector>

namespace agent::peers {

namespace {

struct AddrInfoFree {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

std::string toText(const addrinfo* ai) {
  char buf[INET6_ADDRSTRLEN] = {};
  const void* src =
      ai->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr);
  if (inet_ntop(ai->ai_family, src, buf, sizeof buf) == nullptr) return {};
  return buf;
}

}  // namespace

bool isIpLiteral(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<std::string> SystemResolver::resolve(const std::string& name,
                                            const std::string& preferred_family_hint) {
  if (isIpLiteral(name)) return name;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  if (rc != 0) {
    Errc code = (rc == EAI_NONAME || rc == EAI_NODATA) ? Errc::NotFound : Errc::Io;
    return fail(code, fmt::format("cannot resolve {}: {}", name, gai_strerror(rc)));
  }
  int want = preferred_family_hint.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  std::string first;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    std::string text = toText(ai);
    if (text.empty()) continue;
    if (ai->ai_family == want) return text;
    if (first.empty()) first = text;
  }
  if (first.empty()) return fail(Errc::NotFound, fmt::format("{} has no IP address", name));
  return first;
}

}  // namespace agent::peers
