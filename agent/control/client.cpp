// SPDX-License-Identifier: Apache-2.0
#include "control/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "common/unique_fd.h"

namespace agent::control {

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Error transport(const std::string& path, const std::string& what, int err) {
  return fail(Errc::Transport, what + " " + path + ": " + std::strerror(err));
}

Result<UniqueFd> connectTo(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    return fail(Errc::Invalid, "socket path too long (max 107 bytes): " + path);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.isValid()) return transport(path, "socket for", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return transport(path, "cannot reach the agent at", errno);
  }
  return fd;
}

Status sendAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    // MSG_NOSIGNAL: an agent that hangs up must not kill the client with SIGPIPE.
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return transport(path, "cannot send to", errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

// Reads what is available into `buf`; false at end of stream.
Result<bool> readSome(int fd, std::string& buf, int64_t deadline_ms, const std::string& path) {
  int64_t left = deadline_ms - nowMs();
  if (left <= 0) return fail(Errc::Timeout, "no answer from the agent in time");
  pollfd p{fd, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(left));
  if (ready < 0) {
    if (errno == EINTR) return true;
    return transport(path, "poll on", errno);
  }
  if (ready == 0) return fail(Errc::Timeout, "no answer from the agent in time");
  char chunk[1024];
  ssize_t n = ::read(fd, chunk, sizeof chunk);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return true;
    return transport(path, "cannot read from", errno);
  }
  buf.append(chunk, static_cast<size_t>(n));
  return n > 0;
}

}  // namespace

Result<Line> requestHandover(const std::string& socket_path, const Request& request,
                             int64_t wait_ms, const std::function<void(const Line&)>& on_line) {
  int64_t deadline = nowMs() + wait_ms;
  auto fd = connectTo(socket_path);
  if (!fd) return fd.error();
  if (Status st = sendAll(fd->get(), renderRequest(request), socket_path); !st) return st.error();
  std::string buf;
  while (true) {
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      auto line = parseLine(std::string_view(buf).substr(0, nl));
      if (!line) return fail(Errc::Protocol, "unexpected answer: " + buf.substr(0, nl));
      buf.erase(0, nl + 1);
      on_line(*line);
      if (line->final()) return *line;
    }
    if (buf.size() > kMaxLine) return fail(Errc::Protocol, "answer line too long");
    auto more = readSome(fd->get(), buf, deadline, socket_path);
    if (!more) return more.error();
    if (!*more) return fail(Errc::Transport, "the agent hung up before the handover finished");
  }
}

int runHandoverClient(const std::string& socket_path, int64_t timeout_ms) {
  auto print = [](const Line& line) {
    std::printf("handover: %s: %s\n", lineKindName(line.kind), line.text.c_str());
    std::fflush(stdout);
  };
  auto result =
      requestHandover(socket_path, Request{timeout_ms}, timeout_ms + kAnswerMarginMs, print);
  if (!result) {
    std::fprintf(stderr, "handover: failed: %s\n", result.error().message.c_str());
    return 1;
  }
  return result->kind == LineKind::Failed ? 1 : 0;
}

}  // namespace agent::control
