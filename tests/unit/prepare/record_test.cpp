// SPDX-License-Identifier: Apache-2.0
#include "prepare/record.h"

#include <doctest/doctest.h>

#include "common/files.h"
#include "statefile/statefile.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::TempDir;

TEST_CASE("the prepare record round-trips and ignores unknown keys") {
  prepare::Record r{3, 11};
  auto back = prepare::parseRecord(prepare::renderRecord(r));
  REQUIRE(back.has_value());
  CHECK(*back == r);
  auto newer = prepare::parseRecord("rewrites:2\nfuture_key:5\n");
  REQUIRE(newer.has_value());
  CHECK(*newer == prepare::Record{2, 0});
  CHECK_FALSE(prepare::parseRecord("rewrites:-1\n").has_value());
  CHECK_FALSE(prepare::parseRecord("rewrites:x\n").has_value());
}

TEST_CASE("every rewrite adds to the record beside nodes.conf") {
  TempDir dir;
  std::string conf = dir.file("nodes.conf");
  CHECK(statefile::pathBeside(conf, statefile::kPrepareStats) == dir.file("nodes.prepare-stats"));
  CHECK(prepare::loadRecord(conf) == prepare::Record{});
  prepare::noteRewrite(conf, 1);
  prepare::noteRewrite(conf, 5);
  CHECK(prepare::loadRecord(conf) == prepare::Record{2, 6});
}

TEST_CASE("an unreadable record counts from zero again") {
  TempDir dir;
  std::string conf = dir.file("nodes.conf");
  REQUIRE(files::writeAtomically(statefile::pathBeside(conf, statefile::kPrepareStats),
                                 "rewrites:garbage\n"));
  prepare::noteRewrite(conf, 2);
  CHECK(prepare::loadRecord(conf) == prepare::Record{1, 2});
}

TEST_CASE("a directory that does not exist is no failure") {
  TempDir dir;
  prepare::noteRewrite(dir.file("missing/nodes.conf"), 1);
  CHECK(prepare::loadRecord(dir.file("missing/nodes.conf")) == prepare::Record{});
}

TEST_CASE("the record is written in the state-file format; 0.1.0's key:value still reads") {
  CHECK(prepare::renderRecord({3, 11}).find("\nrewrites 3\naddresses_rewritten 11\n") !=
        std::string::npos);
  auto old = prepare::parseRecord(
      "# Written by redis-cluster-agent prepare; read by run for its metrics.\n"
      "rewrites:4\naddresses_rewritten:9\n");
  REQUIRE(old.has_value());
  CHECK(*old == prepare::Record{4, 9});
  TempDir dir;
  std::string conf = dir.file("nodes.conf");
  REQUIRE(files::writeAtomically(statefile::pathBeside(conf, statefile::kPrepareStats),
                                 "rewrites:4\naddresses_rewritten:9\n"));
  prepare::noteRewrite(conf, 2);
  CHECK(prepare::loadRecord(conf) == prepare::Record{5, 11});
}
