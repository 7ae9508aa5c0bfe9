// SPDX-License-Identifier: Apache-2.0
#include "control/server.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "control/client.h"
#include "support/fixtures.h"

using namespace agent;
using namespace agent::control;
using agent::testing::TempDir;

namespace {

HandoverHandler answering(LineKind kind, std::atomic<int>* calls = nullptr) {
  return [kind, calls](const Request& r, const Emit& emit) {
    if (calls) ++*calls;
    emit("budget " + std::to_string(r.timeout_ms));
    emit("second step");
    return Line{kind, "finished"};
  };
}

// Sends raw bytes and returns everything the server answers.
std::string rawExchange(const std::string& path, const std::string& bytes) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  if (!bytes.empty()) REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("a request gets every step and the final line, in order") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  std::atomic<int> calls{0};
  auto server = Server::start(path, answering(LineKind::Done, &calls));
  REQUIRE(server.has_value());
  std::vector<std::string> seen;
  auto result = requestHandover(path, {1234}, 5000, [&](const Line& l) {
    seen.push_back(std::string(lineKindName(l.kind)) + ":" + l.text);
  });
  REQUIRE(result.has_value());
  CHECK(result->kind == LineKind::Done);
  CHECK(seen == std::vector<std::string>{"step:budget 1234", "step:second step", "done:finished"});
  CHECK(calls == 1);
  CHECK((*server)->served() == 1);
  // The final line goes out just before the server marks itself idle.
  for (int i = 0; i < 1000 && (*server)->busy(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK_FALSE((*server)->busy());
}

TEST_CASE("the socket file is owner and group only, and is removed on stop") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  {
    auto server = Server::start(path, answering(LineKind::Skipped));
    REQUIRE(server.has_value());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);
  }
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) != 0);
}

TEST_CASE("a stale socket is replaced; a live one or another file is not") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  {
    auto first = Server::start(path, answering(LineKind::Done));
    REQUIRE(first.has_value());
    auto second = Server::start(path, answering(LineKind::Done));
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == Errc::Refused);
    // A crashed agent leaves its socket file behind: simulate it with a bound, closed socket.
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
  auto again = Server::start(path, answering(LineKind::Done));
  CHECK(again.has_value());
  again = fail(Errc::Invalid, "reset");

  std::string plain = dir.file("not-a-socket");
  std::ofstream(plain) << "data";
  auto refused = Server::start(plain, answering(LineKind::Done));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == Errc::Refused);
  CHECK(Server::start(dir.file(std::string(120, 'x')), answering(LineKind::Done)).error().code ==
        Errc::Invalid);
}

TEST_CASE("a malformed request is refused without calling the handler") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  std::atomic<int> calls{0};
  auto server = Server::start(path, answering(LineKind::Done, &calls));
  REQUIRE(server.has_value());
  CHECK(rawExchange(path, "takeover please\n").rfind("failed ", 0) == 0);
  CHECK(calls == 0);
  CHECK((*server)->served() == 0);
}

TEST_CASE("stopping the server lets the request in progress finish") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  std::atomic<bool> started{false};
  auto server = Server::start(path, [&](const Request&, const Emit& emit) {
    started = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    emit("still here");
    return Line{LineKind::Done, "finished"};
  });
  REQUIRE(server.has_value());
  Result<Line> result = fail(Errc::Invalid, "not run");
  std::thread client([&] { result = requestHandover(path, {1000}, 5000, [](const Line&) {}); });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK((*server)->busy());
  server = fail(Errc::Invalid, "stopped");  // destroys the server while the handler runs
  client.join();
  REQUIRE(result.has_value());
  CHECK(result->kind == LineKind::Done);
}

namespace {

int connectSilently(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

}  // namespace

// Issue 12, defect 6: each silent client used to hold the socket for its whole 2 s read budget,
// one after the other, before a handover was even read.
TEST_CASE("silent clients do not delay a handover request") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  auto server = Server::start(path, answering(LineKind::Done));
  REQUIRE(server.has_value());
  std::vector<int> silent;
  for (int i = 0; i < 5; ++i) silent.push_back(connectSilently(path));
  auto start = std::chrono::steady_clock::now();
  auto result = requestHandover(path, {1000}, 5000, [](const Line&) {});
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(result.has_value());
  CHECK(result->kind == LineKind::Done);
  CHECK(took < std::chrono::milliseconds(500));
  // Each silent one is told why it is let go, once its own 2 s are up.
  for (int fd : silent) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    CHECK(out.rfind("failed no request line within 2000 ms", 0) == 0);
    ::close(fd);
  }
}

TEST_CASE("more waiting clients than the table holds let go of the oldest, not the newest") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  auto server = Server::start(path, answering(LineKind::Done));
  REQUIRE(server.has_value());
  std::vector<int> silent;
  for (int i = 0; i < 40; ++i) silent.push_back(connectSilently(path));
  auto result = requestHandover(path, {1000}, 5000, [](const Line&) {});
  REQUIRE(result.has_value());
  CHECK(result->kind == LineKind::Done);
  for (int fd : silent) ::close(fd);
}
