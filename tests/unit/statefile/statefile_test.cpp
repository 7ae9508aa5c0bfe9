// SPDX-License-Identifier: Apache-2.0
#include "statefile/statefile.h"

#include <doctest/doctest.h>

#include "common/files.h"
#include "support/fixtures.h"

using namespace agent;

TEST_CASE("a state file is a key and its values per line; comments and blanks are skipped") {
  auto entries = statefile::parse("# header\n\nnode abc 3\r\n  since 17  \nflag\n");
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].key == "node");
  CHECK(entries[0].values == std::vector<std::string>{"abc", "3"});
  CHECK(entries[0].line == 3);
  CHECK(entries[1].key == "since");
  CHECK(entries[1].integer() == 17);
  CHECK(entries[1].text == "since 17");
  CHECK(entries[2].values.empty());
  CHECK_FALSE(entries[2].integer());
  CHECK_FALSE(entries[0].integer());  // "abc"
}

TEST_CASE("render writes the header as comments and parses back to the same entries") {
  std::string text = statefile::render("first line\nsecond line",
                                       {{"configured", {"15000"}}, {"node", {"ab", "2"}}});
  CHECK(text == "# first line\n# second line\nconfigured 15000\nnode ab 2\n");
  auto back = statefile::parse(text);
  REQUIRE(back.size() == 2);
  CHECK(back[1].key == "node");
  CHECK(back[1].values == std::vector<std::string>{"ab", "2"});
}

TEST_CASE("one-word key:value lines, as 0.1.0 wrote nodes.prepare-stats, read as key value") {
  auto entries = statefile::parse("rewrites:3\naddresses_rewritten:12\n");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == "rewrites");
  CHECK(entries[0].values == std::vector<std::string>{"3"});
  CHECK(entries[1].integer() == 12);
  // Only one-word lines: a value with a colon stays as it is.
  auto ipv6 = statefile::parse("address fd00::1\n");
  REQUIRE(ipv6.size() == 1);
  CHECK(ipv6[0].values == std::vector<std::string>{"fd00::1"});
}

// Found by tests/fuzz/statefile_fuzz.cpp: "key:" read as key "key" with one empty value,
// which rendered as "key " and read back without it.
TEST_CASE("a one-word line with an empty part on either side of its colon stays one word") {
  for (std::string line : {"rewrites:", ":3", ":"}) {
    CAPTURE(line);
    auto entries = statefile::parse(line + "\n");
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].key == line);
    CHECK(entries[0].values.empty());
    auto back = statefile::parse(statefile::render("", entries));
    REQUIRE(back.size() == 1);
    CHECK(back[0].key == entries[0].key);
    CHECK(back[0].values == entries[0].values);
  }
}

TEST_CASE("an entry's error names its line and quotes it") {
  auto entries = statefile::parse("# c\nconfigured fifteen\n");
  auto err = entries.at(0).invalid("bad value");
  CHECK(err.code == Errc::Invalid);
  CHECK(err.message == "line 2: bad value: \"configured fifteen\"");
}

TEST_CASE("the files live beside nodes.conf") {
  CHECK(statefile::pathBeside("/data/nodes.conf", statefile::kOrdinalMap) ==
        "/data/nodes.ordinals");
  CHECK(statefile::pathBeside("/data/nodes.conf", statefile::kPrepareStats) ==
        "/data/nodes.prepare-stats");
  CHECK(statefile::pathBeside("/data/nodes.conf", statefile::kTimeoutBoost) ==
        "/data/nodes.timeout-boost");
  CHECK(statefile::pathBeside("nodes.conf", statefile::kOrdinalMap) == "./nodes.ordinals");
}

TEST_CASE("read: a missing file is no error; write replaces, remove deletes") {
  testing::TempDir dir;
  std::string path = dir.file("nodes.timeout-boost");
  auto missing = statefile::read(path);
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());
  REQUIRE(statefile::write(path, "since 1\n"));
  REQUIRE(statefile::write(path, "since 2\n"));
  auto text = statefile::read(path);
  REQUIRE(text);
  CHECK(**text == "since 2\n");
  REQUIRE(statefile::remove(path));
  CHECK_FALSE(files::exists(path));
  CHECK(statefile::remove(path));  // already gone
  CHECK_FALSE(statefile::write(dir.file("missing/x"), "a 1\n"));
}
