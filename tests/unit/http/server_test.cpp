// SPDX-License-Identifier: Apache-2.0
// The HTTP server against real sockets on loopback: answers, and the limits that keep slow,
// silent, oversized and greedy clients from starving a probe (issue 12, defect 4).
#include "http/server.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/unique_fd.h"

using namespace agent;
using namespace agent::http;

namespace {

// A TCP connection to the server from `source` (any 127/8 address works on loopback).
UniqueFd connectTo(int port, const char* source = "127.0.0.1") {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  return fd;
}

void sendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed: the rest does not matter
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything the server sends until it closes, or until `timeout_ms`.
std::string readAll(int fd, int64_t timeout_ms) {
  std::string out;
  int64_t deadline = monotonicMs() + timeout_ms;
  while (true) {
    int64_t left = deadline - monotonicMs();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return out;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

struct Timed {
  std::string answer;
  int64_t ms = 0;
};

Timed probe(int port, const std::string& path = "/livez", const char* source = "127.0.0.1") {
  int64_t start = monotonicMs();
  UniqueFd fd = connectTo(port, source);
  sendAll(fd.get(), "GET " + path + " HTTP/1.1\r\nHost: agent\r\n\r\n");
  std::string answer = readAll(fd.get(), 3000);
  return {answer, monotonicMs() - start};
}

bool isOk(const Timed& t) {
  return t.answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0;
}

// A server with /livez, short budgets so the tests do not wait long, and a record of refusals.
struct Fixture {
  explicit Fixture(Limits limits = shortLimits()) : server(limits) {
    server.get("/livez", [](const Params&) { return Response{200, "text/plain", "ok\n"}; });
    server.get("/big", [](const Params&) {
      return Response{200, "text/plain", std::string(8 << 20, 'x')};
    });
    server.onRefusal([this](Refusal r) {
      std::lock_guard lock(mu);
      refusals.push_back(r);
    });
    REQUIRE(server.start("127.0.0.1", 0).has_value());
  }
  static Limits shortLimits() {
    Limits l;
    l.head_timeout_ms = 800;
    l.write_timeout_ms = 500;
    l.connections = {32, 8};
    return l;
  }
  size_t count(Refusal r) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count(refusals.begin(), refusals.end(), r));
  }

  Server server;
  std::mutex mu;
  std::vector<Refusal> refusals;
};

}  // namespace

TEST_CASE("a request is answered by its handler, once, and the connection closed") {
  Fixture f;
  auto t = probe(f.server.port());
  CHECK(isOk(t));
  CHECK(t.answer.find("Connection: close\r\n") != std::string::npos);
  CHECK(t.answer.substr(t.answer.size() - 3) == "ok\n");
  CHECK(probe(f.server.port(), "/nothing").answer.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(f.server.refused() == 0);
}

TEST_CASE("slowloris connections neither delay a probe nor outlive the head timeout") {
  Fixture f;
  std::vector<UniqueFd> slow;
  for (int i = 0; i < 8; ++i) {  // more than the workers, as many as one client may hold
    slow.push_back(connectTo(f.server.port(), "127.0.0.2"));
    sendAll(slow.back().get(), "GET /livez HTTP/1.1\r\n");
  }
  int64_t worst = 0;
  for (int round = 0; round < 6; ++round) {  // a header byte every 100 ms for 600 ms
    for (auto& fd : slow) sendAll(fd.get(), "X");
    auto t = probe(f.server.port());
    CHECK(isOk(t));
    worst = std::max(worst, t.ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(worst < 300);
  // Past the 800 ms head budget each slow one got 408 and was closed, however it dripped.
  for (auto& fd : slow) CHECK(readAll(fd.get(), 1500).rfind("HTTP/1.1 408", 0) == 0);
  CHECK(f.count(Refusal::HeadTimeout) == 8);
}

TEST_CASE("200 silent connections from the prober's own address do not lock it out") {
  Fixture f;
  std::vector<UniqueFd> silent;
  for (int i = 0; i < 200; ++i) silent.push_back(connectTo(f.server.port()));
  auto t = probe(f.server.port());
  CHECK(isOk(t));
  CHECK(t.ms < 300);
  // The table never held more than one client's share: the oldest silent ones were let go
  // (or, on a slow machine, timed out first).
  CHECK(f.count(Refusal::Displaced) + f.count(Refusal::HeadTimeout) >= 200 - 8);
}

TEST_CASE("a full table gives way to a newcomer from another address") {
  Fixture f;  // 32 in all, 8 per address
  std::vector<UniqueFd> silent;
  for (int c = 2; c < 8; ++c) {
    std::string source = "127.0.0." + std::to_string(c);
    for (int i = 0; i < 8; ++i) silent.push_back(connectTo(f.server.port(), source.c_str()));
  }
  auto t = probe(f.server.port(), "/livez", "127.0.0.9");
  CHECK(isOk(t));
  CHECK(t.ms < 300);
}

TEST_CASE("a million small header lines are refused with 431 at the line limit") {
  Fixture f;
  UniqueFd fd = connectTo(f.server.port());
  std::thread writer([&] {
    sendAll(fd.get(), "GET /livez HTTP/1.1\r\n");
    std::string lines;
    for (int i = 0; i < 1000; ++i) lines += "a:b\r\n";
    for (int i = 0; i < 1000; ++i) sendAll(fd.get(), lines);
  });
  std::string answer = readAll(fd.get(), 3000);
  writer.join();
  CHECK(answer.rfind("HTTP/1.1 431", 0) == 0);
  CHECK(f.count(Refusal::TooManyHeaderLines) == 1);
  CHECK(isOk(probe(f.server.port())));
}

TEST_CASE("a head larger than the byte limit is refused with 431") {
  Fixture f;
  UniqueFd fd = connectTo(f.server.port());
  sendAll(fd.get(), "GET /livez HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a'));
  CHECK(readAll(fd.get(), 3000).rfind("HTTP/1.1 431", 0) == 0);
  CHECK(f.count(Refusal::HeadTooLarge) == 1);
}

TEST_CASE("a client that does not read its answer is closed after the write timeout") {
  Fixture f;
  UniqueFd fd = connectTo(f.server.port());
  int small = 4096;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sendAll(fd.get(), "GET /big HTTP/1.1\r\nHost: agent\r\n\r\n");
  int64_t start = monotonicMs();
  while (f.count(Refusal::WriteTimeout) == 0 && monotonicMs() - start < 3000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(f.count(Refusal::WriteTimeout) == 1);
  CHECK(monotonicMs() - start >= 400);
  CHECK(isOk(probe(f.server.port())));
}

TEST_CASE("a request with a body or an unknown method gets an error, not a hang") {
  Fixture f;
  UniqueFd fd = connectTo(f.server.port());
  sendAll(fd.get(), "POST /livez HTTP/1.1\r\nContent-Length: 100000000\r\n\r\nabc");
  std::string answer = readAll(fd.get(), 3000);
  CHECK(answer.rfind("HTTP/1.1 4", 0) == 0);
  UniqueFd junk = connectTo(f.server.port());
  sendAll(junk.get(), "BREW /pot HTCPCP/1.0\r\n\r\n");
  CHECK(readAll(junk.get(), 3000).rfind("HTTP/1.1 400", 0) == 0);
}
