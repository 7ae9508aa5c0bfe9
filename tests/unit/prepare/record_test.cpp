// SPDX-License-Identifier: Apache-2.0
#include "prepare/record.h"

#include <doctest/doctest.h>

#include "common/files.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::TempDir;

TEST_CASE("the prepare record round-trips and ignores unknown keys") {
  prepare::Record r{7, 3, 11, 1};
  auto back = prepare::parseRecord(prepare::renderRecord(r));
  REQUIRE(back.has_value());
  CHECK(*back == r);
  auto newer = prepare::parseRecord("runs:2\nfuture_key:5\n");
  REQUIRE(newer.has_value());
  CHECK(newer->runs == 2);
  CHECK_FALSE(prepare::parseRecord("runs:-1\n").has_value());
  CHECK_FALSE(prepare::parseRecord("runs:x\n").has_value());
}

TEST_CASE("every prepare run adds to the record beside nodes.conf") {
  TempDir dir;
  std::string conf = dir.file("nodes.conf");
  CHECK(prepare::recordPath(conf) == dir.file("nodes.prepare-stats"));
  CHECK(prepare::loadRecord(conf) == prepare::Record{});
  prepare::noteRun(conf, false, 0);
  prepare::noteRun(conf, false, 3);
  prepare::noteRun(conf, true, 0);
  CHECK(prepare::loadRecord(conf) == prepare::Record{3, 1, 3, 1});
}

TEST_CASE("an unreadable record counts from zero again") {
  TempDir dir;
  std::string conf = dir.file("nodes.conf");
  REQUIRE(files::writeAtomically(prepare::recordPath(conf), "runs:garbage\n"));
  prepare::noteRun(conf, false, 2);
  CHECK(prepare::loadRecord(conf) == prepare::Record{1, 1, 2, 0});
}

TEST_CASE("a directory that does not exist is no failure of prepare") {
  TempDir dir;
  prepare::noteRun(dir.file("missing/nodes.conf"), false, 1);
  CHECK(prepare::loadRecord(dir.file("missing/nodes.conf")) == prepare::Record{});
}
