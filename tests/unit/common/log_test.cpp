// SPDX-License-Identifier: Apache-2.0
#include "common/log.h"

#include <doctest/doctest.h>

using namespace agent;

TEST_CASE("text payload: message then key=value, quoted only when needed") {
  auto s = log::renderPayload(
      log::Format::Text, "Sent CLUSTER MEET",
      {{"peer", "redis-3"}, {"reason", "known at an old address"}, {"port", 6379}});
  CHECK(s == R"(Sent CLUSTER MEET peer=redis-3 reason="known at an old address" port=6379)");
}

TEST_CASE("text payload stays on one line") {
  auto s = log::renderPayload(log::Format::Text, "two\nlines", {{"err", "a\nb"}});
  CHECK(s.find('\n') == std::string::npos);
  CHECK(s == R"(two\nlines err="a\nb")");
}

TEST_CASE("json payload escapes the message and every value") {
  auto s = log::renderPayload(log::Format::Json, "say \"hi\"\\",
                              {{"n", 3}, {"ok", true}, {"v", "x\ty"}});
  CHECK(s == R"("msg":"say \"hi\"\\","n":3,"ok":true,"v":"x\ty")");
}

TEST_CASE("json escaping replaces invalid UTF-8 and control bytes") {
  auto value = [](std::string_view v) {
    return log::renderPayload(log::Format::Json, "m", {{"v", v}});
  };
  CHECK(value("caf\xc3\xa9") == "\"msg\":\"m\",\"v\":\"caf\xc3\xa9\"");
  CHECK(value("bad\xff") == "\"msg\":\"m\",\"v\":\"bad\xef\xbf\xbd\"");
  CHECK(value("\xc3") == "\"msg\":\"m\",\"v\":\"\xef\xbf\xbd\"");
  CHECK(value(std::string_view("\x01", 1)) == "\"msg\":\"m\",\"v\":\"\\u0001\"");
}

TEST_CASE("a json payload is one line and the members of one valid object") {
  auto s = log::renderPayload(
      log::Format::Json, "two\nlines",
      {{"err", "a\r\nb"}, {"big", uint64_t{18446744073709551615U}}, {"neg", -5}, {"off", false}});
  CHECK(s.find('\n') == std::string::npos);
  CHECK(s ==
        R"("msg":"two\nlines","err":"a\r\nb","big":18446744073709551615,"neg":-5,"off":false)");
}
