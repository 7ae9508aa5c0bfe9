// SPDX-License-Identifier: Apache-2.0
#include "http/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/host_port.h"
#include "common/text.h"
#include "common/unique_fd.h"

namespace agent::http {

namespace {

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

Result<Target> targetOf(const std::string& host, int port) {
  Target t;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&t.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&t.addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    t.len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    t.len = sizeof(sockaddr_in6);
  } else {
    return fail(Errc::Invalid, fmt::format("'{}' is not an IP address", host));
  }
  return t;
}

// Waits for `events` on fd until the deadline (monotonic ms).
Status waitFor(int fd, short events, int64_t deadline, const std::string& what) {
  while (true) {
    int64_t left = deadline - monotonicMs();
    if (left <= 0) return fail(Errc::Timeout, what + ": timed out");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return {};
    if (n < 0 && errno != EINTR) return fail(Errc::Transport, what + ": " + std::strerror(errno));
  }
}

Result<UniqueFd> connectTo(const Target& t, int64_t deadline, const std::string& what) {
  UniqueFd fd(::socket(t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.isValid()) return fail(Errc::Transport, what + ": socket: " + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&t.addr), t.len) != 0 &&
      errno != EINPROGRESS) {
    return fail(Errc::Transport, what + ": " + std::strerror(errno));
  }
  if (Status st = waitFor(fd.get(), POLLOUT, deadline, what); !st) return st.error();
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail(Errc::Transport, what + ": " + std::strerror(err));
  return fd;
}

Status sendAll(int fd, std::string_view data, int64_t deadline, const std::string& what) {
  while (!data.empty()) {
    if (Status st = waitFor(fd, POLLOUT, deadline, what); !st) return st;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return fail(Errc::Transport, what + ": " + std::strerror(errno));
    }
    if (n > 0) data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Everything the server sends until it closes the connection (HTTP/1.0), at most max_bytes.
Result<std::string> readAll(int fd, int64_t deadline, size_t max_bytes, const std::string& what) {
  std::string out;
  char buf[4096];
  while (true) {
    if (Status st = waitFor(fd, POLLIN, deadline, what); !st) return st.error();
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return out;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return fail(Errc::Transport, what + ": " + std::strerror(errno));
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return fail(Errc::Protocol, fmt::format("{}: reply longer than {} bytes", what, max_bytes));
    }
  }
}

Result<std::string> bodyOf(const std::string& reply, const std::string& what) {
  auto lines = text::splitLines(reply);
  auto status = lines.empty() ? std::vector<std::string_view>{} : text::splitWords(lines[0]);
  if (status.size() < 2 || !text::startsWith(status[0], "HTTP/1.")) {
    return fail(Errc::Protocol, what + ": not an HTTP reply");
  }
  size_t end = reply.find("\r\n\r\n");
  if (end == std::string::npos) return fail(Errc::Protocol, what + ": reply without a body");
  if (status[1] != "200") {
    return fail(Errc::Server, fmt::format("{}: HTTP {}", what, status[1]));
  }
  return reply.substr(end + 4);
}

}  // namespace

Result<std::string> get(const std::string& host, int port, const std::string& path,
                        int64_t timeout_ms, size_t max_bytes) {
  int64_t deadline = monotonicMs() + timeout_ms;
  std::string authority = HostPort{host, port}.str();
  std::string what = text::concat({"GET ", authority, path});
  auto target = targetOf(host, port);
  if (!target) return target.error();
  auto fd = connectTo(*target, deadline, what);
  if (!fd) return fd.error();
  std::string request = fmt::format(
      "GET {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\nUser-Agent: redis-cluster-agent\r\n\r\n",
      path, authority);
  if (Status st = sendAll(fd->get(), request, deadline, what); !st) return st.error();
  auto reply = readAll(fd->get(), deadline, max_bytes, what);
  if (!reply) return reply.error();
  return bodyOf(*reply, what);
}

}  // namespace agent::http
