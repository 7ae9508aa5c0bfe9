// SPDX-License-Identifier: Apache-2.0
// The connection layer against a scripted fake server: deadlines, caps, pipelining, error
// classes. The same against real redis-server (plaintext and TLS) is tests/e2e/transport_test.
#include "redis/connection.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "redis/fake_server.h"
#include "support/fixtures.h"

using namespace agent;
using namespace agent::redis;
using agent::testing::answering;
using agent::testing::FakePeer;
using agent::testing::FakeServer;

namespace {

ConnectOptions quick(int64_t command_ms = 500) {
  ConnectOptions o;
  o.connect_timeout_ms = 500;
  o.command_timeout_ms = command_ms;
  return o;
}

Connection connectTo(const FakeServer& server, const ConnectOptions& o = quick()) {
  auto conn = Connection::open({"127.0.0.1", server.port()}, o);
  REQUIRE_MESSAGE(conn.has_value(), agent::testing::errorText(conn));
  return std::move(*conn);
}

// Reads one command, then sends `head` and then `unit` again and again until the client goes.
FakeServer::Handler flooding(std::string head, std::string unit) {
  return [head, unit](FakePeer& peer) {
    if (!peer.readCommand() || !peer.send(head)) return;
    while (!peer.stopping() && peer.send(unit)) {
    }
  };
}

}  // namespace

TEST_CASE("replies of every type arrive as Reply trees") {
  FakeServer server(answering({
      {"PING", "+PONG\r\n"},
      {"GET", "$5\r\nhello\r\n"},
      {"INCR", ":42\r\n"},
      {"TREE", "*4\r\n$3\r\nfoo\r\n*2\r\n:1\r\n$-1\r\n+OK\r\n-ERR inner\r\n"},
      {"EMPTY", "*0\r\n"},
      {"NIL", "*-1\r\n"},
  }));
  Connection conn = connectTo(server);
  CHECK(*conn.commandString({"PING"}) == "PONG");
  CHECK(*conn.commandString({"GET", "k"}) == "hello");
  CHECK(*conn.commandInteger({"INCR", "k"}) == 42);
  auto tree = conn.command({"TREE"});
  REQUIRE(tree);
  REQUIRE(tree->type == Reply::Type::Array);
  REQUIRE(tree->elements.size() == 4);
  CHECK(tree->elements[0].str == "foo");
  REQUIRE(tree->elements[1].elements.size() == 2);
  CHECK(tree->elements[1].elements[0].integer == 1);
  CHECK(tree->elements[1].elements[1].type == Reply::Type::Nil);
  CHECK(tree->elements[2].type == Reply::Type::Status);
  CHECK(tree->elements[3].type == Reply::Type::Error);
  CHECK(conn.command({"EMPTY"})->elements.empty());
  CHECK(conn.command({"NIL"})->type == Reply::Type::Nil);
  CHECK(conn.healthy());
}

TEST_CASE("error classes: Server keeps the connection, the others end it") {
  SUBCASE("an error reply is Errc::Server with Redis' text") {
    FakeServer server(answering({{"CLUSTER NODES",
                                  "-ERR This instance has cluster support "
                                  "disabled\r\n"}}));
    Connection conn = connectTo(server);
    auto r = conn.command({"CLUSTER", "NODES"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Server);
    CHECK(r.error().message == "ERR This instance has cluster support disabled");
    CHECK(conn.healthy());
  }
  SUBCASE("a reply of the wrong shape is Errc::Protocol, the connection stays") {
    FakeServer server(answering({{"CLUSTER MYID", ":1\r\n"}}));
    Connection conn = connectTo(server);
    auto r = conn.commandString({"CLUSTER", "MYID"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Protocol);
    CHECK(conn.healthy());
  }
  SUBCASE("bytes that are not RESP are Errc::Protocol and end the connection") {
    FakeServer server(answering({{"PING", "HTTP/1.1 400 Bad Request\r\n\r\n"}}));
    Connection conn = connectTo(server);
    auto r = conn.command({"PING"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Protocol);
    CHECK(r.error().message.find("unexpected byte 0x48") != std::string::npos);
    CHECK_FALSE(conn.healthy());
    auto again = conn.command({"PING"});
    CHECK(again.error().message.find("connection broken") != std::string::npos);
  }
  SUBCASE("a server that closes mid-reply is Errc::Transport") {
    FakeServer server([](FakePeer& peer) {
      if (peer.readCommand()) peer.send("$10\r\nhal");
    });
    Connection conn = connectTo(server);
    auto r = conn.command({"GET", "k"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Transport);
    CHECK(r.error().message.find("connection closed by the server") != std::string::npos);
    CHECK(r.error().message.find("TLS") == std::string::npos);  // it did answer
    CHECK_FALSE(conn.healthy());
  }
  SUBCASE("a server that closes before any reply hints at a TLS-only port") {
    // What a TLS-only Redis (port 0, tls-port) does with a plaintext command.
    FakeServer server([](FakePeer& peer) { peer.readCommand(); });
    Connection conn = connectTo(server);
    auto r = conn.command({"PING"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Transport);
    CHECK(r.error().message.find("if it serves TLS only, connect with TLS (agent: --tls=on") !=
          std::string::npos);
  }
  SUBCASE("nothing listening is Errc::Transport, Connection refused") {
    int port = 0;
    {
      FakeServer gone(answering({}));
      port = gone.port();
    }
    auto conn = Connection::open({"127.0.0.1", port}, quick());
    REQUIRE_FALSE(conn);
    CHECK(conn.error().code == Errc::Transport);
    CHECK(conn.error().message == "127.0.0.1:" + std::to_string(port) + ": Connection refused");
  }
}

TEST_CASE("a drip-fed reply ends at the command's deadline") {
  // The attack of issue 12: a bulk header, then one byte now and then, which never trips a
  // per-read timeout. One deadline covers the whole exchange.
  FakeServer server([](FakePeer& peer) {
    if (!peer.readCommand() || !peer.send("$1000\r\n")) return;
    while (!peer.stopping() && peer.send("x")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Connection conn = connectTo(server, quick(400));
  int64_t t0 = monotonicMs();
  auto r = conn.command({"CLUSTER", "NODES"});
  int64_t took = monotonicMs() - t0;
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Timeout);
  CHECK(took >= 390);
  CHECK(took < 900);
  CHECK(r.error().message.find("CLUSTER NODES timed out after 400 ms") != std::string::npos);
  CHECK(r.error().message.find("bytes of the reply received") != std::string::npos);
  CHECK_FALSE(conn.healthy());
}

TEST_CASE("a per-command deadline overrides the connection's") {
  FakeServer server([](FakePeer& peer) {
    if (!peer.readCommand()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    peer.send("+OK\r\n");
    while (peer.readCommand()) peer.send("+OK\r\n");
  });
  Connection conn = connectTo(server, quick(100));
  CommandOptions slow;
  slow.timeout_ms = 2000;
  CHECK(conn.command({"MIGRATE", "x"}, slow));
}

TEST_CASE("announced sizes beyond the caps are refused at the header, in bounded memory") {
  struct Case {
    const char* name;
    std::string head;
    std::string unit;
    const char* says;
  };
  for (const Case& c : {
           Case{"2000000000 elements", "*2000000000\r\n", ":1\r\n", "2000000000 elements"},
           Case{"a 100 MB bulk", "$100000000\r\n", std::string(4096, 'x'), "100000000 bytes"},
           Case{"a negative count", "*-7\r\n", "", "array of -7"},
       }) {
    CAPTURE(c.name);
    FakeServer server(flooding(c.head, c.unit));
    Connection conn = connectTo(server, quick(5000));
    size_t rss0 = agent::testing::residentBytes();
    int64_t t0 = monotonicMs();
    auto r = conn.command({"CLUSTER", "NODES"});
    int64_t took = monotonicMs() - t0;
    size_t rss1 = agent::testing::residentBytes();
    size_t grew = rss1 > rss0 ? rss1 - rss0 : 0;
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Protocol);
    CHECK_MESSAGE(r.error().message.find(c.says) != std::string::npos, r.error().message);
    CHECK(took < 300);  // at once, not at the 5 s deadline
    CHECK(grew < (size_t{16} << 20));
    CHECK_FALSE(conn.healthy());
  }
}

TEST_CASE("a reply that grows past the byte cap is refused while it grows") {
  // Many small elements, each within the caps: the running total ends it.
  std::string unit = "$100\r\n" + std::string(100, 'y') + "\r\n";
  std::string says = "would exceed the reply limit of 4194304 bytes";
  SUBCASE("status lines") {
    unit = "+" + std::string(100, 'y') + "\r\n";
    says = "larger than the limit of 4194304 bytes";
  }
  FakeServer server(flooding("*100000\r\n", unit));
  Connection conn = connectTo(server, quick(5000));
  int64_t t0 = monotonicMs();
  auto r = conn.command({"CLUSTER", "NODES"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Protocol);
  CHECK_MESSAGE(r.error().message.find(says) != std::string::npos, r.error().message);
  CHECK(monotonicMs() - t0 < 2000);
}

TEST_CASE("nesting deeper than the cap is refused") {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "*1\r\n";
  FakeServer server(
      answering({{"CLUSTER SHARDS", deep + ":1\r\n"}, {"SLOTS", "*1\r\n*1\r\n:7\r\n"}}));
  Connection conn = connectTo(server);
  auto r = conn.command({"CLUSTER", "SHARDS"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Protocol);
  CHECK(r.error().message.find("nested deeper than 6 levels") != std::string::npos);
}

TEST_CASE("caps are per connection, and a command may bring its own") {
  std::string big(6 << 20, 'z');
  std::string bulk = "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
  FakeServer server(answering({{"GETKEYS", bulk}}));
  SUBCASE("the default refuses 6 MB") {
    Connection conn = connectTo(server);
    auto r = conn.command({"GETKEYS"});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("6291456 bytes exceeds the limit of 4194304") !=
          std::string::npos);
  }
  SUBCASE("a per-command limit lets it through") {
    Connection conn = connectTo(server, quick(5000));
    CommandOptions large;
    large.limits = ReplyLimits{size_t{8} << 20, size_t{8} << 20, 16, 2};
    auto r = conn.command({"GETKEYS"}, large);
    REQUIRE_MESSAGE(r.has_value(), agent::testing::errorText(r));
    CHECK(r->str.size() == big.size());
  }
  SUBCASE("a connection-wide limit can be lower") {
    ConnectOptions o = quick();
    o.limits.max_bulk_bytes = 1024;
    Connection conn = connectTo(server, o);
    auto r = conn.command({"GETKEYS"});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("exceeds the limit of 1024") != std::string::npos);
  }
}

TEST_CASE("a pipeline sends every command at once and keeps each answer apart") {
  std::atomic<int> seen{0};
  FakeServer server(answering(
      {{"SET", "+OK\r\n"}, {"BAD", "-ERR no such thing\r\n"}, {"GET", "$1\r\nv\r\n"}}, &seen));
  Connection conn = connectTo(server);
  auto replies = conn.pipeline({{"SET", "k", "v"}, {"BAD"}, {"GET", "k"}});
  REQUIRE(replies);
  REQUIRE(replies->size() == 3);
  CHECK((*replies)[0]->str == "OK");
  REQUIRE_FALSE((*replies)[1]);
  CHECK((*replies)[1].error().code == Errc::Server);
  CHECK((*replies)[2]->str == "v");
  CHECK(seen.load() == 3);
  CHECK(conn.healthy());
  CHECK(conn.pipeline({})->empty());
}

TEST_CASE("a pipeline of many commands costs one deadline, and reports where it stopped") {
  SUBCASE("1000 commands") {
    FakeServer server(answering({{"CLUSTER SETSLOT", "+OK\r\n"}}));
    Connection conn = connectTo(server);
    std::vector<std::vector<std::string>> cmds;
    for (int slot = 0; slot < 1000; ++slot) {
      cmds.push_back({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", std::string(40, 'a')});
    }
    auto replies = conn.pipeline(cmds);
    REQUIRE(replies);
    CHECK(replies->size() == 1000);
    for (const auto& r : *replies) CHECK(r);
  }
  SUBCASE("a server that answers two of three") {
    FakeServer server([](FakePeer& peer) {
      for (int i = 0; i < 3 && peer.readCommand(); ++i) {
        if (i < 2) peer.send("+OK\r\n");
      }
      while (!peer.stopping() && peer.readCommand()) {
      }
    });
    Connection conn = connectTo(server, quick(300));
    auto replies = conn.pipeline({{"PING"}, {"PING"}, {"PING"}});
    REQUIRE_FALSE(replies);
    CHECK(replies.error().code == Errc::Timeout);
    CHECK(replies.error().message.find("a pipeline of 3 commands timed out after 300 ms (2 of 3 "
                                       "replies") != std::string::npos);
  }
  SUBCASE("read-only connections refuse the whole pipeline before sending") {
    std::atomic<int> seen{0};
    FakeServer server(answering({{"PING", "+PONG\r\n"}}, &seen));
    ConnectOptions o = quick();
    o.read_only = true;
    Connection conn = connectTo(server, o);
    auto replies = conn.pipeline({{"PING"}, {"CLUSTER", "FORGET", "x"}});
    REQUIRE_FALSE(replies);
    CHECK(replies.error().code == Errc::Refused);
    CHECK(seen.load() == 0);
  }
}

TEST_CASE("a connect to an address that drops SYNs ends at the connect deadline") {
  // A listener whose accept queue is full drops further SYNs, like a silent pod's address.
  int port = 0;
  agent::UniqueFd listener = agent::testing::listenLoopback(0, port);
  std::vector<Connection> fillers;
  int64_t t0 = 0;
  Result<Connection> conn = fail(Errc::Invalid, "not tried");
  // Fill the queue; the first open that does not complete at once is the one under test.
  for (int i = 0; i < 8; ++i) {
    ConnectOptions o = quick();
    o.connect_timeout_ms = 300;
    t0 = monotonicMs();
    conn = Connection::open({"127.0.0.1", port}, o);
    if (!conn) break;
    fillers.push_back(std::move(*conn));
  }
  int64_t took = monotonicMs() - t0;
  REQUIRE_FALSE(conn);
  CHECK(conn.error().code == Errc::Timeout);
  CHECK(conn.error().message == "127.0.0.1:" + std::to_string(port) + ": connect timed out");
  CHECK(took >= 290);
  CHECK(took < 800);
}

TEST_CASE("a Canceller ends a blocked exchange from another thread, and every later one") {
  FakeServer server([](FakePeer& peer) {
    if (!peer.readCommand() || !peer.send("$1000\r\n")) return;
    while (!peer.stopping() && peer.send("x")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  auto cancel = Canceller::create();
  REQUIRE(cancel);
  ConnectOptions o = quick(10000);
  o.cancel = cancel;
  Connection conn = connectTo(server, o);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    cancel->cancel();
  });
  int64_t t0 = monotonicMs();
  auto r = conn.command({"INFO"});
  int64_t took = monotonicMs() - t0;
  stopper.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Transport);
  CHECK(r.error().message.find("INFO: cancelled") != std::string::npos);
  CHECK(took < 1000);
  auto later = Connection::open({"127.0.0.1", server.port()}, o);
  REQUIRE_FALSE(later);
  CHECK(later.error().message.find("cancelled") != std::string::npos);
}

TEST_CASE("a TLS handshake that a plaintext server never answers says so") {
  // A plaintext Redis reads the ClientHello as the start of an inline command and waits for
  // its newline: this one reads whatever comes until the client goes.
  FakeServer server([](FakePeer& peer) {
    std::array<char, 512> buf{};
    while (!peer.stopping()) {
      ssize_t n = ::recv(peer.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  ConnectOptions o = quick();
  o.connect_timeout_ms = 300;
  o.tls = TlsOptions{};
  auto conn = Connection::open({"127.0.0.1", server.port()}, o);
  REQUIRE_FALSE(conn);
  CHECK(conn.error().code == Errc::Timeout);
  CHECK(conn.error().message.find("TLS handshake timed out") != std::string::npos);
  CHECK(conn.error().message.find("is this Redis' tls-port, or is TLS off on this Redis "
                                  "(agent: --tls=off)?") != std::string::npos);
}

TEST_CASE("IPv6 endpoints connect and print in brackets") {
  agent::UniqueFd listener(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof addr;
  if (!listener.isValid() || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    MESSAGE("no IPv6 loopback here; skipped");
    return;
  }
  REQUIRE(::listen(listener.get(), 4) == 0);
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::thread server([&] {
    agent::UniqueFd c(::accept(listener.get(), nullptr, nullptr));
    char buf[64];
    if (::recv(c.get(), buf, sizeof buf, 0) > 0) ::send(c.get(), "+PONG\r\n", 7, MSG_NOSIGNAL);
  });
  auto conn = Connection::open({"::1", ntohs(addr.sin6_port)}, quick());
  REQUIRE(conn);
  CHECK(conn->endpoint().str() == "[::1]:" + std::to_string(ntohs(addr.sin6_port)));
  CHECK(*conn->commandString({"PING"}) == "PONG");
  server.join();
}
