// SPDX-License-Identifier: Apache-2.0
#include "control/client.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "common/unique_fd.h"
#include "support/fixtures.h"

using namespace agent;
using namespace agent::control;
using agent::testing::TempDir;

namespace {

// A listener that answers each connection with `answer` after reading the request.
class ScriptedAgent {
 public:
  ScriptedAgent(const std::string& path, std::string answer, bool hold_open = false)
      : answer_(std::move(answer)), hold_open_(hold_open) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_.get(), 1) == 0);
    thread_ = std::thread([this] {
      UniqueFd conn(::accept(fd_.get(), nullptr, nullptr));
      char buf[256];
      (void)::read(conn.get(), buf, sizeof buf);
      (void)::write(conn.get(), answer_.data(), answer_.size());
      if (hold_open_) std::this_thread::sleep_for(std::chrono::milliseconds(400));
    });
  }
  ~ScriptedAgent() { thread_.join(); }

 private:
  UniqueFd fd_;
  std::string answer_;
  bool hold_open_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("no agent listening is a transport error") {
  TempDir dir;
  auto r = requestHandover(dir.file("agent.sock"), {1000}, 1000, [](const Line&) {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Transport);
  CHECK(r.error().message.find("No such file") != std::string::npos);
  CHECK(runHandoverClient(dir.file("agent.sock"), 1000) == 1);
}

TEST_CASE("an agent that hangs up early, answers garbage or says nothing fails the request") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  SUBCASE("hang up") {
    ScriptedAgent agent(path, "step working\n");
    auto r = requestHandover(path, {1000}, 2000, [](const Line&) {});
    CHECK(r.error().code == Errc::Transport);
  }
  SUBCASE("garbage") {
    ScriptedAgent agent(path, "HTTP/1.1 200 OK\n");
    auto r = requestHandover(path, {1000}, 2000, [](const Line&) {});
    CHECK(r.error().code == Errc::Protocol);
  }
  SUBCASE("silence") {
    ScriptedAgent agent(path, "", true);
    auto r = requestHandover(path, {1000}, 100, [](const Line&) {});
    CHECK(r.error().code == Errc::Timeout);
  }
}

TEST_CASE("the client's exit code: 0 for done or skipped, 1 for failed") {
  TempDir dir;
  std::string path = dir.file("agent.sock");
  SUBCASE("done") {
    ScriptedAgent agent(path, "step a\ndone roles switched\n");
    CHECK(runHandoverClient(path, 1000) == 0);
  }
  SUBCASE("skipped") {
    ScriptedAgent agent(path, "skipped replica\n");
    CHECK(runHandoverClient(path, 1000) == 0);
  }
  SUBCASE("failed") {
    ScriptedAgent agent(path, "failed no votes\n");
    CHECK(runHandoverClient(path, 1000) == 1);
  }
}
