// SPDX-License-Identifier: Apache-2.0
#include "redis/socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <array>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "redis/cancel.h"
#include "redis/tls.h"

namespace agent::redis {

namespace {

struct AddrInfoFree {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

Result<AddrInfoPtr> resolve(const HostPort& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(endpoint.port);
  int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return fail(Errc::Transport,
                fmt::format("cannot resolve {}: {}", endpoint.host,
                            rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc)));
  }
  return AddrInfoPtr(found);
}

// One address: a non-blocking connect, then wait for it to complete.
Result<UniqueFd> connectOne(const addrinfo& ai, int64_t deadline_ms, const Canceller* cancel) {
  UniqueFd fd(::socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.isValid()) return fail(Errc::Transport, std::strerror(errno));
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return fail(Errc::Transport, std::strerror(errno));
    if (Status st = waitReady(fd.get(), POLLOUT, deadline_ms, cancel); !st) return st.error();
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return fail(Errc::Transport, std::strerror(err));
  }
  // Commands are small and answered one by one: never wait for Nagle.
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

Status waitReady(int fd, short events, int64_t deadline_ms, const Canceller* cancel,
                 short* revents) {
  std::array<pollfd, 2> fds{pollfd{fd, events, 0}, pollfd{-1, POLLIN, 0}};
  if (cancel != nullptr) fds[1].fd = cancel->fd();
  while (true) {
    if (cancel != nullptr && cancel->cancelled()) return fail(Errc::Transport, "cancelled");
    int64_t left = deadline_ms - monotonicMs();
    if (left <= 0) return fail(Errc::Timeout, "timed out");
    int n = ::poll(fds.data(), cancel != nullptr ? 2 : 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return fail(Errc::Transport, std::strerror(errno));
    if (n > 0 && fds[0].revents != 0) {
      if (revents != nullptr) *revents = fds[0].revents;
      return {};
    }
  }
}

Result<UniqueFd> connectTcp(const HostPort& endpoint, int64_t deadline_ms,
                            const Canceller* cancel) {
  auto addrs = resolve(endpoint);
  if (!addrs) return addrs.error();
  Error last = fail(Errc::Transport, "no address");
  for (const addrinfo* ai = addrs->get(); ai != nullptr; ai = ai->ai_next) {
    auto fd = connectOne(*ai, deadline_ms, cancel);
    if (fd) return fd;
    last = fd.error();
    if (last.code == Errc::Timeout || (cancel != nullptr && cancel->cancelled())) break;
  }
  if (last.code == Errc::Timeout) last.message = "connect timed out";
  return last;
}

Stream::Stream(UniqueFd fd) : fd_(std::move(fd)) {}
Stream::Stream(UniqueFd fd, std::unique_ptr<TlsSession> tls)
    : fd_(std::move(fd)), tls_(std::move(tls)) {}
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;
Stream::~Stream() = default;

IoResult Stream::read(char* buf, size_t len) {
  if (tls_) return tls_->read(buf, len);
  ssize_t n = ::recv(fd_.get(), buf, len, 0);
  if (n > 0) return {IoResult::Kind::Done, static_cast<size_t>(n), {}};
  if (n == 0) return {IoResult::Kind::Closed, 0, {}};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return {IoResult::Kind::WantRead, 0, {}};
  }
  return {IoResult::Kind::Failed, 0, std::strerror(errno)};
}

IoResult Stream::write(const char* buf, size_t len) {
  if (tls_) return tls_->write(buf, len);
  ssize_t n = ::send(fd_.get(), buf, len, MSG_NOSIGNAL);
  if (n >= 0) return {IoResult::Kind::Done, static_cast<size_t>(n), {}};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return {IoResult::Kind::WantWrite, 0, {}};
  }
  return {IoResult::Kind::Failed, 0, std::strerror(errno)};
}

}  // namespace agent::redis
