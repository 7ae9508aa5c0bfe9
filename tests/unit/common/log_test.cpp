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
  CHECK(log::jsonEscape("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(log::jsonEscape("bad\xff") == "bad\xef\xbf\xbd");
  CHECK(log::jsonEscape("\xc3") == "\xef\xbf\xbd");
  CHECK(log::jsonEscape(std::string_view("\x01", 1)) == "\\u0001");
}
