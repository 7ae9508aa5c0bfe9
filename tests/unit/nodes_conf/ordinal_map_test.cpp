// SPDX-License-Identifier: Apache-2.0
#include "nodes_conf/ordinal_map.h"

#include <doctest/doctest.h>

#include "statefile/statefile.h"

using namespace agent;

namespace {
const std::string kA = "0867df78816f71b70ab706c84f78b583d472c526";
const std::string kB = "602170be9afae9d7dc5d543c4f7b31757675ee8d";
}  // namespace

TEST_CASE("one node ID per ordinal: a new identity replaces the old one") {
  nodes_conf::OrdinalMap map;
  CHECK(map.set(kA, 0));
  CHECK_FALSE(map.set(kA, 0));
  CHECK(map.set(kB, 0));
  CHECK_FALSE(map.ordinalOf(kA));
  CHECK(map.ordinalOf(kB) == 0);
  CHECK(map.idOf(0) == kB);
}

TEST_CASE("render and parse round-trip") {
  nodes_conf::OrdinalMap map;
  map.set(kA, 3);
  map.set(kB, 5);
  auto parsed = nodes_conf::OrdinalMap::parse(map.render());
  REQUIRE(parsed.has_value());
  CHECK(*parsed == map);
}

TEST_CASE("a damaged map is an error with its line") {
  auto parsed = nodes_conf::OrdinalMap::parse("# c\n" + kA + " x\n");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().message.find("line 2") != std::string::npos);
}

TEST_CASE("the map lives beside nodes.conf") {
  CHECK(statefile::pathBeside("/data/nodes.conf", statefile::kOrdinalMap) ==
        "/data/nodes.ordinals");
}

TEST_CASE("a replaced identity is retired and survives a round-trip") {
  nodes_conf::OrdinalMap map;
  map.set(kA, 4);
  map.set(kB, 4);
  CHECK(map.retiredOrdinal(kA) == 4);
  CHECK_FALSE(map.retiredOrdinal(kB));
  auto parsed = nodes_conf::OrdinalMap::parse(map.render());
  REQUIRE(parsed.has_value());
  CHECK(parsed->retiredOrdinal(kA) == 4);
  CHECK(parsed->ordinalOf(kB) == 4);
  // An ID that answers again is no longer retired.
  CHECK(parsed->set(kA, 4));
  CHECK_FALSE(parsed->retiredOrdinal(kA));
  CHECK(parsed->retiredOrdinal(kB) == 4);
}
