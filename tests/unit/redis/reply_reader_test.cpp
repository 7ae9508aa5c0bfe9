// SPDX-License-Identifier: Apache-2.0
#include "redis/reply_reader.h"

#include <doctest/doctest.h>

using namespace agent;
using namespace agent::redis;

namespace {

// Feeds `bytes` in pieces of `step` and collects every reply.
std::vector<ParsedReply> readAll(const std::string& bytes, size_t step, ReplyLimits limits = {}) {
  ReplyReader reader;
  reader.setLimits(limits);
  std::vector<ParsedReply> out;
  for (size_t i = 0; i < bytes.size(); i += step) {
    REQUIRE(reader.feed(std::string_view(bytes).substr(i, step)));
    while (true) {
      auto next = reader.next();
      REQUIRE(next);
      if (!*next) break;
      out.push_back(std::move(**next));
    }
  }
  CHECK(reader.idle());
  return out;
}

}  // namespace

TEST_CASE("replies split at every byte come out whole and in order") {
  std::string bytes =
      "+OK\r\n-ERR bad\r\n:-5\r\n$0\r\n\r\n$-1\r\n*2\r\n*1\r\n$3\r\na\r\n\r\n*0\r\n"
      "$4\r\nab\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, bytes.size()}) {
    CAPTURE(step);
    auto replies = readAll(bytes, step);
    REQUIRE(replies.size() == 7);
    CHECK(replies[0].value.str == "OK");
    CHECK(replies[1].is_error);
    CHECK(replies[1].value.str == "ERR bad");
    CHECK(replies[2].value.integer == -5);
    CHECK(replies[3].value.type == Reply::Type::String);
    CHECK(replies[3].value.str.empty());
    CHECK(replies[4].value.type == Reply::Type::Nil);
    CHECK(replies[5].value.elements[0].elements[0].str == "a\r\n");
    CHECK(replies[5].value.elements[1].elements.empty());
    CHECK(replies[6].value.str == "ab\r\n");
  }
}

TEST_CASE("the guard refuses at the header, before the payload") {
  struct Case {
    std::string bytes;
    const char* says;
  };
  ReplyLimits small{1000, 100, 10, 2};
  for (const Case& c : {
           Case{"$101\r\n", "a bulk string of 101 bytes exceeds the limit of 100"},
           Case{"*11\r\n", "an array of 11 elements exceeds the limit of 10"},
           Case{"*5\r\n*6\r\n", "an array of 6 elements exceeds the limit of 10"},
           Case{"*1\r\n*1\r\n*1\r\n", "nested deeper than 2 levels"},
           Case{"+" + std::string(2000, 'a'), "a line longer than 1000 bytes"},
           Case{":12x\r\n", "bad number"},
           Case{"$-2\r\n", "bulk length -2"},
           Case{"?\r\n", "unexpected byte 0x3f"},
           Case{"+OK\n", "without \\r\\n"},
       }) {
    CAPTURE(c.bytes.substr(0, 20));
    ReplyReader reader;
    reader.setLimits(small);
    Status st = reader.feed(c.bytes);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::Protocol);
    CHECK_MESSAGE(st.error().message.find(c.says) != std::string::npos, st.error().message);
  }
}

TEST_CASE("an array that cannot fit the byte cap is refused at its header") {
  ReplyReader reader;
  Status st = reader.feed("*2000000000\r\n");
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("2000000000 elements") != std::string::npos);
  // "*N\r\n" plus N elements of at least 3 bytes each must fit.
  ReplyReader tight;
  tight.setLimits({30, 30, 10, 2});
  CHECK_FALSE(tight.feed("*10\r\n"));
  ReplyReader fits;
  fits.setLimits({30, 30, 10, 2});
  CHECK(fits.feed("*8\r\n"));
}

TEST_CASE("a bulk that would overflow the reply's byte cap is refused at its header") {
  ReplyReader reader;
  reader.setLimits({100, 100, 10, 2});
  Status st = reader.feed("*2\r\n$99\r\n");
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("a bulk string of 99 bytes would exceed the reply limit of 100") !=
        std::string::npos);
}
