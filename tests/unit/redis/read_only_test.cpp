// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/unique_fd.h"
#include "redis/connection.h"
#include "redis/fake_server.h"

using agent::redis::isReadOnlyCommand;
using Args = std::vector<std::string>;

TEST_CASE("observe mode lets through only commands that report") {
  for (const Args& a :
       {Args{"INFO"}, Args{"info", "replication"}, Args{"PING"}, Args{"AUTH", "x"}, Args{"ROLE"},
        Args{"CLUSTER", "INFO"}, Args{"cluster", "nodes"}, Args{"CLUSTER", "MYID"},
        Args{"CLUSTER", "SHARDS"}, Args{"CLUSTER", "SLOTS"}}) {
    CAPTURE(a[0]);
    CHECK(isReadOnlyCommand(a));
  }
}

TEST_CASE("observe mode refuses every command that changes a node or the cluster") {
  for (const Args& a :
       {Args{"CLUSTER", "MEET", "10.0.0.1", "6379"}, Args{"CLUSTER", "FORGET", "x"},
        Args{"CLUSTER", "FAILOVER"}, Args{"CLUSTER", "REPLICATE", "x"},
        Args{"CLUSTER", "ADDSLOTSRANGE", "0", "1"}, Args{"CLUSTER", "SET-CONFIG-EPOCH", "1"},
        Args{"CLUSTER", "RESET"}, Args{"CLUSTER"}, Args{"FLUSHALL"},
        Args{"CONFIG", "SET", "a", "b"}, Args{"SHUTDOWN"}, Args{}}) {
    CAPTURE(a.size());
    CHECK_FALSE(isReadOnlyCommand(a));
  }
}

TEST_CASE("a read-only connection refuses before sending anything") {
  // A listener that counts the bytes a client sends in its first 300 ms.
  int port = 0;
  agent::UniqueFd listener = agent::testing::listenLoopback(1, port);
  ssize_t received = 0;
  std::thread server([&] {
    agent::UniqueFd client(::accept(listener.get(), nullptr, nullptr));
    pollfd pfd{client.get(), POLLIN, 0};
    char buf[256];
    while (::poll(&pfd, 1, 300) > 0) {
      ssize_t n = ::read(client.get(), buf, sizeof buf);
      if (n <= 0) break;
      received += n;
    }
  });
  auto conn = agent::redis::Connection::open({"127.0.0.1", port}, {500, 500, std::nullopt, true});
  REQUIRE(conn.has_value());
  auto reply = conn->command({"CLUSTER", "MEET", "10.0.0.1", "6379"});
  REQUIRE_FALSE(reply.has_value());
  CHECK(reply.error().code == agent::Errc::Refused);
  CHECK(reply.error().message.find("--mode observe") != std::string::npos);
  CHECK(conn->healthy());
  server.join();
  CHECK(received == 0);
}
