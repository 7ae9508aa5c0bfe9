// SPDX-License-Identifier: Apache-2.0
#include "common/host_port.h"

#include <doctest/doctest.h>

using agent::HostPort;
using agent::parseHostPort;

TEST_CASE("host:port is written with IPv6 in brackets, everything else as it is") {
  CHECK(HostPort{"10.0.0.1", 6379}.str() == "10.0.0.1:6379");
  CHECK(HostPort{"fd00::1", 6379}.str() == "[fd00::1]:6379");
  CHECK(HostPort{"redis-0.redis-headless", 16379}.str() == "redis-0.redis-headless:16379");
  CHECK(agent::joinHostPort("::1", "7000") == "[::1]:7000");
  CHECK(agent::bracketHost("fd00::2") == "[fd00::2]");
  CHECK(agent::bracketHost("10.0.0.2") == "10.0.0.2");
}

TEST_CASE("host:port parses back what str() writes") {
  for (const HostPort& hp :
       {HostPort{"10.0.0.1", 6379}, HostPort{"fd00::1", 1}, HostPort{"name.example", 65535}}) {
    auto parsed = parseHostPort(hp.str());
    REQUIRE(parsed);
    CHECK(*parsed == hp);
  }
  auto bare = parseHostPort("fd00::1:6379");  // the last colon separates the port
  REQUIRE(bare);
  CHECK(bare->host == "fd00::1");
  for (const char* bad : {"host", "host:0", "host:65536", ":6379", "host:x", "[]:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseHostPort(bad));
  }
}
