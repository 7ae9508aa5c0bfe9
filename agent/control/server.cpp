// SPDX-License-Identifier: Apache-2.0
#include "control/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/log.h"

namespace agent::control {

// A connection that has not sent its request line yet.
struct Pending {
  UniqueFd fd;
  std::string buf;
  int64_t deadline_ms = 0;
};

namespace {

const log::Logger kLog("control");

// Owner and group only: the agent's user, and the redis container through the pod's fsGroup.
constexpr mode_t kSocketMode = 0660;
// A client that connects must send its request at once; a silent one must not hold the line.
constexpr int64_t kRequestReadMs = 2000;
// Connections waiting for their request line at once; more let go of the oldest.
constexpr size_t kMaxPending = 16;
constexpr int kAcceptBurst = 16;
// How long one answer line may wait for a client that does not read.
constexpr int64_t kSendMs = 1000;

Result<sockaddr_un> socketAddress(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    return fail(Errc::Invalid, fmt::format("socket path {} is longer than {} bytes", path,
                                           sizeof addr.sun_path - 1));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Removes a socket file an earlier agent left behind, unless an agent still answers there.
Status clearStale(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  if (!S_ISSOCK(st.st_mode)) {
    return fail(Errc::Refused,
                fmt::format("{} exists and is not a socket; not replacing it", path));
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe.isValid() &&
      ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    return fail(Errc::Refused, fmt::format("another agent is listening on {}", path));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail(Errc::Io, fmt::format("cannot remove stale {}: {}", path, std::strerror(errno)));
  }
  return {};
}

Result<UniqueFd> bindSocket(const std::string& path, const sockaddr_un& addr) {
  // Non-blocking: the loop accepts until there is nothing left, then goes back to poll.
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.isValid()) return fail(Errc::Io, fmt::format("socket: {}", std::strerror(errno)));
  // Linux creates the socket file with the mode of the socket inode, so setting it before
  // bind() leaves no moment in which the file is open to everyone; chmod after bind() states
  // the same for file systems that ignore it.
  ::fchmod(fd.get(), kSocketMode);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(Errc::Io, fmt::format("cannot bind {}: {}", path, std::strerror(errno)));
  }
  if (::chmod(path.c_str(), kSocketMode) != 0 || ::listen(fd.get(), 16) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return fail(Errc::Io, fmt::format("cannot listen on {}: {}", path, std::strerror(err)));
  }
  return fd;
}

// Sends one line. A client that stops reading gets what fits within a second; the handover
// itself carries on either way.
void sendText(int fd, const std::string& data) {
  size_t done = 0;
  int64_t deadline = monotonicMs() + kSendMs;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int64_t left = deadline - monotonicMs();
      if (left > 0 && ::poll(&p, 1, static_cast<int>(left)) > 0) continue;
    }
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

enum class ReadState { NeedMore, Line, Gone, TooLong };

// Reads what is there without waiting.
ReadState readSome(Pending& p) {
  char chunk[512];
  while (true) {
    ssize_t n = ::recv(p.fd.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ReadState::NeedMore;
    if (n <= 0) return p.buf.find('\n') != std::string::npos ? ReadState::Line : ReadState::Gone;
    p.buf.append(chunk, static_cast<size_t>(n));
    if (p.buf.find('\n') != std::string::npos) return ReadState::Line;
    if (p.buf.size() > kMaxLine) return ReadState::TooLong;
  }
}

int pollTimeout(const std::vector<Pending>& pending, int64_t now) {
  if (pending.empty()) return -1;
  int64_t next = pending.front().deadline_ms;
  for (const auto& p : pending) next = std::min(next, p.deadline_ms);
  return static_cast<int>(std::max<int64_t>(next - now, 0));
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const std::string& path, HandoverHandler handler) {
  auto addr = socketAddress(path);
  if (!addr) return addr.error();
  if (Status st = clearStale(path, *addr); !st) return st.error();
  auto listener = bindSocket(path, *addr);
  if (!listener) return listener.error();
  struct stat st {};
  ::lstat(path.c_str(), &st);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ::unlink(path.c_str());
    return fail(Errc::Io, fmt::format("pipe: {}", std::strerror(errno)));
  }
  return std::unique_ptr<Server>(new Server(path, std::move(handler), std::move(*listener),
                                            UniqueFd(fds[0]), UniqueFd(fds[1]), st.st_ino));
}

Server::Server(std::string path, HandoverHandler handler, UniqueFd listener, UniqueFd wake_read,
               UniqueFd wake_write, ino_t inode)
    : path_(std::move(path)),
      handler_(std::move(handler)),
      listener_(std::move(listener)),
      wake_read_(std::move(wake_read)),
      wake_write_(std::move(wake_write)),
      inode_(inode) {
  thread_ = std::thread([this] { loop(); });
}

Server::~Server() {
  char byte = 1;
  while (::write(wake_write_.get(), &byte, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  // Remove the file only if it is still ours, not one a newer agent has bound since.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_ino == inode_) ::unlink(path_.c_str());
}

// Waits for the listener and for every connection that has not sent its request yet, so a
// silent client holds up nobody: each gets kRequestReadMs, all at once, and a full table lets
// go of its oldest. A request that is complete is served at once, on this thread.
void Server::loop() {
  std::vector<Pending> pending;
  std::vector<pollfd> fds;
  while (true) {
    fds.assign({{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}});
    for (const auto& p : pending) fds.push_back({p.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), pollTimeout(pending, monotonicMs())) < 0) {
      if (errno == EINTR) continue;
      kLog.error("Control socket poll failed", {{"err", std::strerror(errno)}});
      return;
    }
    if (fds[1].revents != 0) return;
    bool served = false;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (fds[i + 2].revents != 0) served |= advance(pending[i]);
    }
    if ((fds[0].revents & POLLIN) != 0) acceptPending(pending);
    // A request that came in while a handover ran is read on the next turn, not expired.
    if (!served) expirePending(pending, monotonicMs());
    std::erase_if(pending, [](const Pending& p) { return !p.fd.isValid(); });
  }
}

bool Server::advance(Pending& p) {
  switch (readSome(p)) {
    case ReadState::NeedMore: return false;
    case ReadState::Gone: p.fd.reset(); return false;
    case ReadState::TooLong: break;
    case ReadState::Line: {
      std::string line = p.buf.substr(0, p.buf.find('\n'));
      serve(p.fd.get(), line);
      p.fd.reset();
      return true;
    }
  }
  refuse(p.fd.get(), "request line too long");
  p.fd.reset();
  return false;
}

void Server::acceptPending(std::vector<Pending>& pending) {
  for (int i = 0; i < kAcceptBurst; ++i) {
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn.isValid()) return;
    if (pending.size() >= kMaxPending) {
      refuse(pending.front().fd.get(), "too many connections waiting; this one was the oldest");
      pending.erase(pending.begin());
    }
    pending.push_back({std::move(conn), {}, monotonicMs() + kRequestReadMs});
  }
}

void Server::expirePending(std::vector<Pending>& pending, int64_t now) {
  for (auto& p : pending) {
    if (p.deadline_ms > now) continue;
    refuse(p.fd.get(), "no request line within " + std::to_string(kRequestReadMs) + " ms");
    p.fd.reset();
  }
}

void Server::refuse(int fd, const std::string& why) {
  ucred cred{};
  socklen_t len = sizeof cred;
  ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
  kLog.warn("Refused a control request", {{"pid", cred.pid}, {"uid", cred.uid}, {"err", why}});
  sendText(fd, renderLine(LineKind::Failed, why));
}

void Server::serve(int fd, const std::string& line) {
  // Busy from the request on, so a stopping agent that polls busy() never misses one.
  busy_ = true;
  struct Idle {
    std::atomic<bool>& busy;
    ~Idle() { busy = false; }
  } idle{busy_};
  auto request = parseRequest(line);
  if (!request) {
    refuse(fd, request.error().message);
    return;
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
  // The kernel vouches for the peer's pid and uid; the log says who asked for a failover.
  kLog.info("Handover requested", {{"pid", cred.pid},
                                   {"uid", cred.uid},
                                   {"gid", cred.gid},
                                   {"timeoutMs", request->timeout_ms}});
  Line result = handler_(
      *request, [fd](const std::string& text) { sendText(fd, renderLine(LineKind::Step, text)); });
  ++served_;
  sendText(fd, renderLine(result.kind, result.text));
}

}  // namespace agent::control
