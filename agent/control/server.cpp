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

namespace {

const log::Logger kLog("control");

// Owner and group only: the agent's user, and the redis container through the pod's fsGroup.
constexpr mode_t kSocketMode = 0660;
// A client that connects must send its request at once; a silent one must not hold the line.
constexpr int64_t kRequestReadMs = 2000;

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
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.isValid()) return fail(Errc::Io, fmt::format("socket: {}", std::strerror(errno)));
  // Linux creates the socket file with the mode of the socket inode, so setting it before
  // bind() leaves no moment in which the file is open to everyone; chmod after bind() states
  // the same for file systems that ignore it.
  ::fchmod(fd.get(), kSocketMode);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(Errc::Io, fmt::format("cannot bind {}: {}", path, std::strerror(errno)));
  }
  if (::chmod(path.c_str(), kSocketMode) != 0 || ::listen(fd.get(), 4) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return fail(Errc::Io, fmt::format("cannot listen on {}: {}", path, std::strerror(err)));
  }
  return fd;
}

void sendText(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away; the handover itself carries on
    done += static_cast<size_t>(n);
  }
}

// Reads the request line; nullopt when the client sent nothing usable in time.
std::optional<std::string> readRequestLine(int fd) {
  std::string buf;
  int64_t deadline = monotonicMs() + kRequestReadMs;
  while (buf.find('\n') == std::string::npos && buf.size() <= kMaxLine) {
    int64_t left = deadline - monotonicMs();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
    char chunk[512];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return std::nullopt;
    buf.append(chunk, static_cast<size_t>(n));
  }
  size_t nl = buf.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  return buf.substr(0, nl);
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

void Server::loop() {
  while (true) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      kLog.error("Control socket poll failed", {{"err", std::strerror(errno)}});
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.isValid()) serve(conn.get());
  }
}

void Server::serve(int fd) {
  // Busy from accept on, so a stopping agent that polls busy() never misses a request.
  busy_ = true;
  struct Idle {
    std::atomic<bool>& busy;
    ~Idle() { busy = false; }
  } idle{busy_};
  ucred cred{};
  socklen_t len = sizeof cred;
  ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
  auto line = readRequestLine(fd);
  auto request = line ? parseRequest(*line) : Result<Request>(fail(Errc::Invalid, "no request"));
  if (!request) {
    kLog.warn("Refused a control request",
              {{"pid", cred.pid}, {"uid", cred.uid}, {"err", request.error().message}});
    sendText(fd, renderLine(LineKind::Failed, request.error().message));
    return;
  }
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
