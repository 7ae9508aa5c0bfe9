// SPDX-License-Identifier: Apache-2.0
// Non-blocking sockets with absolute deadlines: TCP connect (IPv4/IPv6, TCP_NODELAY), waiting
// for readiness under a deadline and a Canceller, and Stream, one connected socket that is
// plaintext or TLS behind the same read/write calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/host_port.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace agent::redis {

class Canceller;
class TlsSession;

// The outcome of one non-blocking read or write.
struct IoResult {
  enum class Kind { Done, WantRead, WantWrite, Closed, Failed };
  Kind kind = Kind::Done;
  size_t bytes = 0;   // Done: bytes moved (> 0)
  std::string error;  // Failed: what went wrong
};

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT); what poll reported goes to
// `revents` when given. Errc::Timeout at the deadline (monotonic ms), Errc::Transport when
// cancelled.
Status waitReady(int fd, short events, int64_t deadline_ms, const Canceller* cancel,
                 short* revents = nullptr);

// Connects to every address `endpoint` resolves to in turn, until one accepts or the deadline
// passes. Hostnames go through getaddrinfo (not bounded by the deadline; the agent dials IPs).
Result<UniqueFd> connectTcp(const HostPort& endpoint, int64_t deadline_ms, const Canceller* cancel);

class Stream final {
 public:
  Stream() = default;
  explicit Stream(UniqueFd fd);
  Stream(UniqueFd fd, std::unique_ptr<TlsSession> tls);
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  ~Stream();

  IoResult read(char* buf, size_t len);
  IoResult write(const char* buf, size_t len);
  int fd() const { return fd_.get(); }
  bool isTls() const { return tls_ != nullptr; }

 private:
  UniqueFd fd_;
  std::unique_ptr<TlsSession> tls_;  // destroyed before the fd is closed
};

}  // namespace agent::redis
