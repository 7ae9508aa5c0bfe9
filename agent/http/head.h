// SPDX-License-Identifier: Apache-2.0
// The bounded read of an HTTP request head (request line + header lines + blank line), fed as
// bytes arrive. The listener reads every head itself, within a size, line-count and time
// budget, before cpp-httplib sees a byte: httplib 0.11 reads headers without a count or time
// limit, so one request with a million small headers costs >100 MB and a slow one holds a
// worker for as long as it trickles. Pure, so it is unit-tested and fuzzed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agent::http {

struct HeadLimits {
  size_t max_bytes = size_t{16} * 1024;  // request line + headers + the blank line
  size_t max_lines = 100;                // request line included
};

class HeadScanner {
 public:
  enum class State { NeedMore, Complete, TooLarge, TooManyLines };

  explicit HeadScanner(HeadLimits limits = {}) : limits_(limits) {}

  // Appends bytes (at most room() of them are kept) and says where the head stands. Bytes after
  // the head's blank line are dropped: one request per connection.
  State feed(std::string_view bytes);
  State state() const { return state_; }
  // How many more bytes may come before the head is too large.
  size_t room() const { return limits_.max_bytes - head_.size(); }
  // The head so far; complete (ending in "\r\n\r\n") once state() is Complete.
  const std::string& head() const { return head_; }

 private:
  State scan();

  HeadLimits limits_;
  std::string head_;
  size_t scanned_ = 0;  // bytes of head_ already looked at
  size_t lines_ = 0;    // '\n' seen so far
  State state_ = State::NeedMore;
};

}  // namespace agent::http
