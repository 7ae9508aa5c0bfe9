// SPDX-License-Identifier: Apache-2.0
#include "http/head.h"

#include <doctest/doctest.h>

using namespace agent::http;
using State = HeadScanner::State;

TEST_CASE("a head is complete at its blank line, however it is split") {
  const std::string head = "GET /livez HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t split = 0; split <= head.size(); ++split) {
    HeadScanner s;
    s.feed(head.substr(0, split));
    CHECK(s.feed(head.substr(split)) == State::Complete);
    CHECK(s.head() == head);
  }
  HeadScanner byte_by_byte;
  State last = State::NeedMore;
  for (char ch : head) last = byte_by_byte.feed(std::string_view(&ch, 1));
  CHECK(last == State::Complete);
}

TEST_CASE("bytes after the head are dropped; a finished scanner takes no more") {
  HeadScanner s;
  CHECK(s.feed("GET / HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\n\r\n") == State::Complete);
  CHECK(s.head() == "GET / HTTP/1.1\r\n\r\n");
  CHECK(s.feed("more") == State::Complete);
  CHECK(s.head() == "GET / HTTP/1.1\r\n\r\n");
}

TEST_CASE("a head over the byte limit is refused without keeping more than the limit") {
  HeadScanner s({/*max_bytes=*/64, /*max_lines=*/100});
  CHECK(s.feed("GET / HTTP/1.1\r\n") == State::NeedMore);
  CHECK(s.feed("X-Long: " + std::string(1 << 20, 'a')) == State::TooLarge);
  CHECK(s.head().size() == 64);
  CHECK(s.room() == 0);
}

TEST_CASE("a head exactly at the byte limit is accepted") {
  std::string head = "GET / HTTP/1.1\r\nX: " + std::string(10, 'a') + "\r\n\r\n";
  HeadScanner s({head.size(), 100});
  CHECK(s.feed(head) == State::Complete);
  HeadScanner one_short({head.size() - 1, 100});
  CHECK(one_short.feed(head) == State::TooLarge);
}

TEST_CASE("too many header lines are refused, however small") {
  HeadScanner s({1 << 20, /*max_lines=*/10});
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 9; ++i) head += "a:b\r\n";
  CHECK(s.feed(head) == State::NeedMore);  // 10 lines: the limit
  CHECK(s.feed("\r\n") == State::Complete);

  HeadScanner over({1 << 20, 10});
  head += "a:b\r\n";
  CHECK(over.feed(head) == State::TooManyLines);
}

TEST_CASE("bare newlines do not end a head (httplib needs CRLF)") {
  HeadScanner s;
  CHECK(s.feed("GET / HTTP/1.1\n\n") == State::NeedMore);
  CHECK(s.feed("\r\n\r\n") == State::Complete);
}
