// SPDX-License-Identifier: Apache-2.0
#include "nodes_conf/ordinal_map.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>

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

TEST_CASE("the map is written in the state-file format") {
  nodes_conf::OrdinalMap map;
  map.set(kA, 4);
  map.set(kB, 4);
  std::string text = map.render();
  CHECK(text.find("\nnode " + kB + " 4\n") != std::string::npos);
  CHECK(text.find("\nretired " + kA + " 4\n") != std::string::npos);
  CHECK(text[0] == '#');
}

TEST_CASE("a map written by 0.1.0 (no 'node' key) still reads") {
  auto parsed = nodes_conf::OrdinalMap::parse(
      "# redis-cluster-agent: node ID -> StatefulSet ordinal, learned from the live cluster.\n"
      "# Read by `redis-cluster-agent prepare` to find peers by pod name. Safe to delete.\n" +
      kB + " 2\nretired " + kA + " 2\n");
  REQUIRE(parsed.has_value());
  CHECK(parsed->ordinalOf(kB) == 2);
  CHECK(parsed->idOf(2) == kB);
  CHECK(parsed->retiredOrdinal(kA) == 2);
  // Written again, it is in today's format and reads back the same.
  auto again = nodes_conf::OrdinalMap::parse(parsed->render());
  REQUIRE(again.has_value());
  CHECK(*again == *parsed);
}

TEST_CASE("unknown keys, bad IDs and absurd ordinals are refused with their line") {
  CHECK_FALSE(nodes_conf::OrdinalMap::parse("nod " + kA + " 1\n"));
  CHECK_FALSE(nodes_conf::OrdinalMap::parse("node xyz 1\n"));
  CHECK_FALSE(nodes_conf::OrdinalMap::parse("node " + kA + " 100001\n"));
  CHECK_FALSE(nodes_conf::OrdinalMap::parse("node " + kA + "\n"));
  auto err = nodes_conf::OrdinalMap::parse("node " + kA + " 1\nretired " + kB + " -1\n");
  REQUIRE_FALSE(err);
  CHECK(err.error().message.find("line 2") != std::string::npos);
}

TEST_CASE("an ID moving to another ordinal frees its old one") {
  nodes_conf::OrdinalMap map;
  map.set(kA, 1);
  map.set(kA, 2);
  CHECK(map.ordinalOf(kA) == 2);
  CHECK_FALSE(map.idOf(1));
  CHECK(map.idOf(2) == kA);
  CHECK_FALSE(map.retiredOrdinal(kA));
}

TEST_CASE("retired IDs are bounded, on load too") {
  std::string text;
  for (int i = 0; i < 100; ++i) text += fmt::format("retired {:040x} 1\n", i);
  auto parsed = nodes_conf::OrdinalMap::parse(text);
  REQUIRE(parsed);
  CHECK(parsed->retired().size() == nodes_conf::OrdinalMap::kMaxRetired);
  CHECK(parsed->retired().back().id == fmt::format("{:040x}", 99));  // the newest kept
}

TEST_CASE("a 30000-line map loads in linear time") {
  std::string text;
  for (int i = 0; i < 30000; ++i) text += fmt::format("{:040x} {}\n", i + 1, i);
  auto start = std::chrono::steady_clock::now();
  auto parsed = nodes_conf::OrdinalMap::parse(text);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  REQUIRE(parsed);
  CHECK(parsed->entries().size() == 30000);
  CHECK(parsed->idOf(29999) == fmt::format("{:040x}", 30000));
  MESSAGE("30000 lines parsed in " << ms << " ms");
  // Linear: about 60 ms here, 0.4-0.7 s on a 2-core machine at load 16. The quadratic insert
  // it replaces took 9-12 s for the same text.
  CHECK(ms < 3000);
}
