// SPDX-License-Identifier: Apache-2.0
#include "common/text.h"

#include <doctest/doctest.h>

using namespace agent;

TEST_CASE("split keeps empty fields, splitWords drops them") {
  CHECK(text::split("a,,b", ',') == std::vector<std::string_view>{"a", "", "b"});
  CHECK(text::split("", ',') == std::vector<std::string_view>{""});
  CHECK(text::splitWords("  a \t b  ") == std::vector<std::string_view>{"a", "b"});
}

TEST_CASE("splitLines drops carriage returns and the last empty line") {
  CHECK(text::splitLines("a\r\nb\r\n") == std::vector<std::string_view>{"a", "b"});
  CHECK(text::splitLines("a\n\nb") == std::vector<std::string_view>{"a", "", "b"});
}

TEST_CASE("numbers are parsed strictly") {
  CHECK(text::parseInt("-12") == -12);
  CHECK_FALSE(text::parseInt("12x"));
  CHECK_FALSE(text::parseInt(""));
  CHECK(text::parseUint("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(text::parseUint("-1"));
  CHECK_FALSE(text::parseUint("+1"));
}

TEST_CASE("durations accept ms, s, m and bare seconds") {
  CHECK(text::parseDurationMs("250ms") == 250);
  CHECK(text::parseDurationMs("2s") == 2000);
  CHECK(text::parseDurationMs("1.5s") == 1500);
  CHECK(text::parseDurationMs("3") == 3000);
  CHECK(text::parseDurationMs("1m") == 60000);
  CHECK_FALSE(text::parseDurationMs("fast"));
  CHECK_FALSE(text::parseDurationMs("-1s"));
  CHECK_FALSE(text::parseDurationMs("ms"));
}

TEST_CASE("templates expand known keys and reject unknown ones") {
  CHECK(text::expandTemplate("redis-{ordinal}.svc", {{"ordinal", "3"}}) == "redis-3.svc");
  CHECK_FALSE(text::expandTemplate("redis-{pod}", {{"ordinal", "3"}}));
  CHECK_FALSE(text::expandTemplate("redis-{ordinal", {{"ordinal", "3"}}));
}

TEST_CASE("INFO fields skip comments and keep values with colons") {
  auto f = text::parseInfoFields("# Server\r\nredis_version:7.0.15\r\nmaster_host:fd00::1\r\n");
  REQUIRE(f.size() == 2);
  CHECK(f[0].first == "redis_version");
  CHECK(f[1].second == "fd00::1");
}
