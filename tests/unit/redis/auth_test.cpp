// SPDX-License-Identifier: Apache-2.0
// AUTH outcomes, secrets kept out of every error text, and the server identity check.
#include <doctest/doctest.h>

#include "common/files.h"
#include "redis/connection.h"
#include "redis/credentials.h"
#include "redis/fake_server.h"
#include "redis/scrub.h"
#include "support/fixtures.h"

using namespace agent;
using namespace agent::redis;
using agent::testing::answering;
using agent::testing::FakeServer;

namespace {

const std::string kPassword = "s3cret-Pa55word-xyz";

ConnectOptions withPassword(std::string password = kPassword) {
  ConnectOptions o;
  o.connect_timeout_ms = 500;
  o.command_timeout_ms = 500;
  o.password = std::move(password);
  return o;
}

// Redis 7.0's answer to a command it does not know: the arguments quoted, cut at 128 bytes.
std::string unknownCommand(const std::string& name, const std::string& arg) {
  return "-ERR unknown command '" + name + "', with args beginning with: '" +
         arg.substr(0, 128 - 3) + "' \r\n";
}

}  // namespace

TEST_CASE("scrubSecrets removes whole secrets, cut-off secrets and their CR/LF forms") {
  CHECK(scrubSecrets("args: 'hunter2' ", {"hunter2"}) == "args: '<redacted>' ");
  CHECK(scrubSecrets("a hunter2 b hunter2", {"hunter2"}) == "a <redacted> b <redacted>");
  CHECK(scrubSecrets("nothing here", {"hunter2"}) == "nothing here");
  CHECK(scrubSecrets("hunter", {"hunter2"}) == "hunter");  // short prefixes stay
  std::string long_pw(300, 'q');
  long_pw.replace(0, 10, "0123456789");
  CHECK(scrubSecrets("'" + long_pw.substr(0, 125) + "' ", {long_pw}) == "'<redacted>' ");
  CHECK(scrubSecrets("x line1  line2 y", {"line1\r\nline2"}) == "x <redacted> y");
  CHECK(scrubSecrets("keep", {""}) == "keep");
}

TEST_CASE("AUTH refused because the command is renamed: actionable, and no password") {
  FakeServer server(answering({{"AUTH", unknownCommand("AUTH", kPassword)}}));
  auto conn = Connection::open({"127.0.0.1", server.port()}, withPassword());
  REQUIRE_FALSE(conn);
  CHECK(conn.error().code == Errc::Server);
  CHECK(conn.error().message.find(kPassword) == std::string::npos);
  CHECK(conn.error().message.find(kPassword.substr(0, 8)) == std::string::npos);
  CHECK(conn.error().message.find("rename-command") != std::string::npos);
  CHECK(conn.error().message.find("'<redacted>'") != std::string::npos);
}

TEST_CASE("a password longer than Redis' quote leaves no prefix behind") {
  std::string pw(400, 'k');
  for (size_t i = 0; i < pw.size(); ++i) pw[i] = static_cast<char>('a' + i % 26);
  FakeServer server(answering({{"AUTH", unknownCommand("AUTH", pw)}}));
  auto conn = Connection::open({"127.0.0.1", server.port()}, withPassword(pw));
  REQUIRE_FALSE(conn);
  CHECK(conn.error().message.find(pw.substr(0, 8)) == std::string::npos);
}

TEST_CASE("a wrong password says which setting to compare") {
  FakeServer server(
      answering({{"AUTH", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"}}));
  auto conn = Connection::open({"127.0.0.1", server.port()}, withPassword());
  REQUIRE_FALSE(conn);
  CHECK(conn.error().code == Errc::Server);
  CHECK(conn.error().message.find("does not match the server's requirepass") != std::string::npos);
}

TEST_CASE("a refused password lets the next candidate be tried") {
  // A Redis restarted in the middle of a password rotation accepts only the new password, while
  // the old one is the one that worked last: the agent must move on to the new one.
  FakeServer server(
      answering({{"AUTH new-pass", "+OK\r\n"},
                 {"AUTH", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"}}));
  auto refused = Connection::open({"127.0.0.1", server.port()}, withPassword("old-pass"));
  REQUIRE_FALSE(refused);
  CHECK(isPasswordRefused(refused.error()));
  Credentials credentials;
  credentials.set({"new-pass", "old-pass"});
  credentials.worked("old-pass");
  auto conn = openWith({"127.0.0.1", server.port()}, withPassword(), &credentials);
  CHECK(conn);
  CHECK(credentials.candidates().front() == "new-pass");
}

TEST_CASE("AUTH against a server without a password is not a failure") {
  FakeServer server(answering({{"AUTH",
                                "-ERR AUTH <password> called without any password "
                                "configured for the default user.\r\n"},
                               {"PING", "+PONG\r\n"}}));
  auto conn = Connection::open({"127.0.0.1", server.port()}, withPassword());
  REQUIRE(conn);
  CHECK(*conn->commandString({"PING"}) == "PONG");
}

TEST_CASE("arguments marked secret are scrubbed from their command's errors") {
  FakeServer server(answering(
      {{"CONFIG", unknownCommand("CONFIG", "SET masterauth 'topsecret99")}, {"AUTH", "+OK\r\n"}}));
  auto conn = Connection::open({"127.0.0.1", server.port()}, withPassword());
  REQUIRE(conn);
  CommandOptions o;
  o.secret_args = {3};
  auto r = conn->command({"CONFIG", "SET", "masterauth", "topsecret99"}, o);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("topsecret99") == std::string::npos);
  SUBCASE("and the connection's own secrets from every command's errors") {
    auto bad = conn->command({"ECHO", kPassword});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "ERR unknown command");
  }
}

TEST_CASE("the server's identity, from INFO server, once per connection") {
  const std::string redis5 = "# Server\r\nredis_version:5.0.1\r\nredis_mode:cluster\r\n";
  const std::string redis70 = "# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n";
  const std::string valkey8 =
      "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n";
  auto bulk = [](const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  };
  SUBCASE("Redis 5.0.1 is refused in one line naming the version and the minimum") {
    std::atomic<int> seen{0};
    FakeServer server(answering({{"INFO", bulk(redis5)}}, &seen));
    auto conn = Connection::open({"127.0.0.1", server.port()}, ConnectOptions{});
    REQUIRE(conn);
    auto info = conn->server();
    REQUIRE(info);
    CHECK(info->str() == "redis 5.0.1");
    CHECK(conn->server());
    CHECK(seen.load() == 1);  // asked once
    Status st = supportedServer(*info);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::Refused);
    CHECK(st.error().message ==
          "Redis 5.0.1 is not supported: the agent needs Redis 7.0 or later, or Valkey 7.2 or "
          "later; upgrade the server, the agent does not act on this one");
  }
  SUBCASE("Redis 7.0.15 is supported, and a plain INFO fills it in without asking again") {
    std::atomic<int> seen{0};
    FakeServer server(answering({{"INFO", bulk(redis70)}}, &seen));
    auto conn = Connection::open({"127.0.0.1", server.port()}, ConnectOptions{});
    REQUIRE(conn);
    REQUIRE(conn->commandString({"INFO"}));
    auto info = conn->server();
    REQUIRE(info);
    CHECK(seen.load() == 1);
    CHECK(info->name == "redis");
    CHECK(info->version == "7.0.15");
    CHECK(supportedServer(*info));
  }
  SUBCASE("Valkey 8.0.1 by its own name and version") {
    FakeServer server(answering({{"INFO", bulk(valkey8)}}));
    auto conn = Connection::open({"127.0.0.1", server.port()}, ConnectOptions{});
    REQUIRE(conn);
    auto info = conn->server();
    REQUIRE(info);
    CHECK(info->str() == "valkey 8.0.1");
    CHECK(info->redis_version == "7.2.4");
    CHECK(supportedServer(*info));
  }
  SUBCASE("INFO without a version is a Protocol error") {
    FakeServer server(answering({{"INFO", bulk("# Server\r\n")}}));
    auto conn = Connection::open({"127.0.0.1", server.port()}, ConnectOptions{});
    REQUIRE(conn);
    CHECK(conn->server().error().code == Errc::Protocol);
  }
}

TEST_CASE("supportedServer draws the line at Redis 7.0 and Valkey 7.2") {
  CHECK_FALSE(supportedServer({"redis", "6.2.14", "6.2.14"}));
  CHECK(supportedServer({"redis", "7.0.0", "7.0.0"}));
  CHECK(supportedServer({"redis", "7.4.1", "7.4.1"}));
  CHECK(supportedServer({"valkey", "7.2.5", "7.2.4"}));
  CHECK_FALSE(supportedServer({"redis", "garbage", "garbage"}));
}

// Issue 12, defect 6: a 1 MB file mounted as the password was accepted (and sent in every AUTH).
TEST_CASE("a password file longer than the cap is refused with its size, not read as a password") {
  agent::testing::TempDir dir;
  std::string path = dir.file("password");
  REQUIRE(files::writeAtomically(path, std::string(1024 * 1024, 'p') + "\n"));
  auto r = readPasswordFile(path);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Invalid);
  CHECK(r.error().message.find("1048576 bytes") != std::string::npos);
  CHECK(r.error().message.find("ppppp") == std::string::npos);
  REQUIRE(files::writeAtomically(path, std::string(kMaxPasswordBytes, 'p') + "\n"));
  CHECK(readPasswordFile(path)->value().size() == kMaxPasswordBytes);
}
