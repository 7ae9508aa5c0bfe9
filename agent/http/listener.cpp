// SPDX-License-Identifier: Apache-2.0
#include "http/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/log.h"

namespace agent::http {

namespace {

const log::Logger kLog("http");

// Longest a poll waits when nothing is due, so a paused accept resumes on time.
constexpr int64_t kMaxPollMs = 1000;
// Connections accepted per loop turn, so a flood of connects cannot starve the reads.
constexpr int kAcceptBurst = 64;
// Out of file descriptors: how long the backlog waits before the next accept.
constexpr int64_t kAcceptPauseMs = 100;
constexpr int kBacklog = 128;

constexpr std::string_view kTimeoutAnswer =
    "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kTooLargeAnswer =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
    "Content-Length: 0\r\n\r\n";
constexpr std::string_view kFailedAnswer =
    "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

bool transient(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

void ipAndPort(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a6.sin6_addr, text, sizeof text);
    port = ntohs(a6.sin6_port);
  } else {
    const auto& a4 = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a4.sin_addr, text, sizeof text);
    port = ntohs(a4.sin_port);
  }
  ip = text;
}

Result<UniqueFd> bindListener(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return fail(Errc::Io, fmt::format("cannot listen on {}:{}: {}", host, port, gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
  int err = 0;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int on = 1;
    if (fd.isValid() && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
        ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd.get(), kBacklog) == 0) {
      return fd;
    }
    err = errno;
  }
  return fail(Errc::Io, fmt::format("cannot listen on {}:{}: {}", host, port, std::strerror(err)));
}

int boundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string ip;
  int port = 0;
  ipAndPort(addr, ip, port);
  return port;
}

}  // namespace

const char* refusalName(Refusal r) {
  switch (r) {
    case Refusal::HeadTimeout: return "head_timeout";
    case Refusal::HeadTooLarge: return "head_too_large";
    case Refusal::TooManyHeaderLines: return "too_many_header_lines";
    case Refusal::Displaced: return "displaced";
    case Refusal::NoRoom: return "no_room";
    case Refusal::WriteTimeout: return "write_timeout";
  }
  return "?";
}

Result<std::unique_ptr<Listener>> Listener::start(const std::string& host, int port,
                                                  const Limits& limits, Answer answer,
                                                  OnRefusal on_refusal) {
  auto fd = bindListener(host, port);
  if (!fd) return fd.error();
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.isValid()) return fail(Errc::Io, fmt::format("eventfd: {}", std::strerror(errno)));
  int bound = boundPort(fd->get());
  return std::unique_ptr<Listener>(new Listener(std::move(*fd), std::move(wake), bound, limits,
                                                std::move(answer), std::move(on_refusal)));
}

Listener::Listener(UniqueFd listen_fd, UniqueFd wake_fd, int port, const Limits& limits,
                   Answer answer, OnRefusal on_refusal)
    : listen_fd_(std::move(listen_fd)),
      wake_fd_(std::move(wake_fd)),
      port_(port),
      limits_(limits),
      answer_(std::move(answer)),
      on_refusal_(std::move(on_refusal)) {
  for (size_t i = 0; i < std::max<size_t>(limits_.workers, 1); ++i) {
    workers_.emplace_back([this] { work(); });
  }
  io_ = std::thread([this] { loop(); });
}

Listener::~Listener() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  wake();
  io_.join();
  for (auto& w : workers_) w.join();
}

void Listener::wake() {
  uint64_t one = 1;
  while (::write(wake_fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void Listener::work() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      jobs_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::string out;
    try {
      out = answer_(job.request);
    } catch (...) {
      out = std::string(kFailedAnswer);
    }
    {
      std::lock_guard lock(mu_);
      answers_.emplace_back(job.id, std::move(out));
    }
    wake();
  }
}

// One turn: wait for the sockets that can move and the nearest deadline, then move them.
void Listener::loop() {
  std::vector<pollfd> fds;
  std::vector<uint64_t> ids;
  while (true) {
    int64_t now = monotonicMs();
    fds.assign({{wake_fd_.get(), POLLIN, 0},
                {now >= accept_paused_until_ ? listen_fd_.get() : -1, POLLIN, 0}});
    ids.clear();
    for (const auto& [id, c] : conns_) {
      if (c.phase == Phase::Working) continue;
      fds.push_back(
          {c.fd.get(), static_cast<short>(c.phase == Phase::Writing ? POLLOUT : POLLIN), 0});
      ids.push_back(id);
    }
    if (::poll(fds.data(), fds.size(), pollTimeoutMs(now)) < 0 && errno != EINTR) {
      kLog.error("HTTP listener poll failed", {{"err", std::strerror(errno)}});
      return;
    }
    now = monotonicMs();
    if (fds[0].revents != 0) {
      uint64_t count = 0;
      while (::read(wake_fd_.get(), &count, sizeof count) < 0 && errno == EINTR) {
      }
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    takeAnswers(now);
    for (size_t i = 2; i < fds.size(); ++i) {
      auto it = conns_.find(ids[i - 2]);
      if (fds[i].revents == 0 || it == conns_.end() || !it->second.fd.isValid()) continue;
      if (it->second.phase == Phase::Writing) {
        onWritable(it->second, now);
      } else {
        onReadable(it->first, it->second);
      }
    }
    if ((fds[1].revents & POLLIN) != 0) acceptAll(now);
    expire(now);
    closeDone();
  }
}

int Listener::pollTimeoutMs(int64_t now) const {
  int64_t next = now + kMaxPollMs;
  if (accept_paused_until_ > now) next = std::min(next, accept_paused_until_);
  for (const auto& [id, c] : conns_) {
    if (c.phase != Phase::Working) next = std::min(next, c.deadline_ms);
  }
  return static_cast<int>(std::max<int64_t>(next - now, 0));
}

void Listener::acceptAll(int64_t now) {
  for (int i = 0; i < kAcceptBurst; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    UniqueFd fd(::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                          SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.isValid()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        kLog.warn("HTTP listener cannot accept for now", {{"err", std::strerror(errno)}});
        accept_paused_until_ = now + kAcceptPauseMs;
      }
      return;
    }
    Request who;
    ipAndPort(addr, who.remote_ip, who.remote_port);
    sockaddr_storage local{};
    len = sizeof local;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len);
    ipAndPort(local, who.local_ip, who.local_port);
    admitOne(std::move(fd), std::move(who), now);
  }
}

void Listener::admitOne(UniqueFd fd, Request who, int64_t now) {
  std::vector<OpenConnection> open;
  open.reserve(conns_.size());
  for (const auto& [id, c] : conns_) {
    if (c.fd.isValid()) open.push_back({id, c.request.remote_ip, c.since_ms, c.phase});
  }
  Admission a = admit(open, who.remote_ip, limits_.connections);
  for (uint64_t id : a.close) refuse(conns_.at(id), Refusal::Displaced);
  if (!a.admit) {
    if (on_refusal_) on_refusal_(Refusal::NoRoom);
    return;  // fd closes here
  }
  int on = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  Connection c;
  c.fd = std::move(fd);
  c.request = std::move(who);
  c.since_ms = now;
  c.deadline_ms = now + limits_.head_timeout_ms;
  c.head = HeadScanner(limits_.head);
  uint64_t id = next_id_++;
  // A probe's request usually arrives with the handshake: read it now, so the connection is
  // answered (and no longer one that can be given up) before the next accept.
  onReadable(id, conns_.emplace(id, std::move(c)).first->second);
}

void Listener::onReadable(uint64_t id, Connection& c) {
  char buf[4096];
  ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
  if (n < 0 && transient(errno)) return;
  if (n <= 0) {
    c.fd.reset();  // the client went away (or reset): nothing to answer
    return;
  }
  if (c.phase == Phase::Draining) return;  // what comes after the answer is not read
  switch (c.head.feed(std::string_view(buf, static_cast<size_t>(n)))) {
    case HeadScanner::State::Complete: onHead(id, c); break;
    case HeadScanner::State::TooLarge: refuse(c, Refusal::HeadTooLarge); break;
    case HeadScanner::State::TooManyLines: refuse(c, Refusal::TooManyHeaderLines); break;
    case HeadScanner::State::NeedMore: break;
  }
}

void Listener::onHead(uint64_t id, Connection& c) {
  c.phase = Phase::Working;
  Job job{id, c.request};
  job.request.head = c.head.head();
  c.head = HeadScanner(limits_.head);  // the copy in the job is the only one now
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_one();
}

void Listener::onWritable(Connection& c, int64_t now) {
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && transient(errno)) return;
    if (n <= 0) {
      c.fd.reset();
      return;
    }
    c.sent += static_cast<size_t>(n);
  }
  // Answered: half-close, then read what the client still sends for a moment, so closing
  // with unread bytes does not reset the connection before the client has read the answer.
  ::shutdown(c.fd.get(), SHUT_WR);
  c.out = std::string();
  c.phase = Phase::Draining;
  c.deadline_ms = now + limits_.linger_ms;
}

void Listener::takeAnswers(int64_t now) {
  std::vector<std::pair<uint64_t, std::string>> ready;
  {
    std::lock_guard lock(mu_);
    ready.swap(answers_);
  }
  for (auto& [id, out] : ready) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Connection& c = it->second;
    c.out = std::move(out);
    c.phase = Phase::Writing;
    c.deadline_ms = now + limits_.write_timeout_ms;
    onWritable(c, now);
  }
}

void Listener::expire(int64_t now) {
  for (auto& [id, c] : conns_) {
    if (!c.fd.isValid() || c.phase == Phase::Working || c.deadline_ms > now) continue;
    if (c.phase == Phase::Reading) refuse(c, Refusal::HeadTimeout);
    if (c.phase == Phase::Writing) refuse(c, Refusal::WriteTimeout);
    c.fd.reset();  // draining ends quietly
  }
}

// Closes `c` now, with a short answer where one helps a legitimate client see what happened.
void Listener::refuse(Connection& c, Refusal why) {
  if (!c.fd.isValid()) return;
  std::string_view answer;
  if (c.phase == Phase::Reading && why == Refusal::HeadTimeout) answer = kTimeoutAnswer;
  if (why == Refusal::HeadTooLarge || why == Refusal::TooManyHeaderLines) answer = kTooLargeAnswer;
  if (!answer.empty()) {
    [[maybe_unused]] ssize_t n =
        ::send(c.fd.get(), answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  c.fd.reset();
  if (on_refusal_) on_refusal_(why);
}

void Listener::closeDone() {
  std::erase_if(conns_, [](const auto& entry) { return !entry.second.fd.isValid(); });
}

}  // namespace agent::http
