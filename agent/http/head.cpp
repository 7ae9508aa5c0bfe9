// SPDX-License-Identifier: Apache-2.0
#include "http/head.h"

#include <algorithm>

namespace agent::http {

HeadScanner::State HeadScanner::feed(std::string_view bytes) {
  if (state_ != State::NeedMore) return state_;
  head_.append(bytes.substr(0, std::min(bytes.size(), room())));
  state_ = scan();
  if (state_ == State::NeedMore && room() == 0) state_ = State::TooLarge;
  return state_;
}

// httplib ends a head at a line that is exactly "\r\n" after a line ending in '\n'; the head is
// complete here once "\r\n\r\n" is in, which is never before httplib would stop reading.
HeadScanner::State HeadScanner::scan() {
  for (; scanned_ < head_.size(); ++scanned_) {
    if (head_[scanned_] != '\n') continue;
    ++lines_;
    if (scanned_ >= 3 && head_.compare(scanned_ - 3, 4, "\r\n\r\n") == 0) {
      head_.resize(scanned_ + 1);
      return State::Complete;
    }
    if (lines_ > limits_.max_lines) return State::TooManyLines;
  }
  return State::NeedMore;
}

}  // namespace agent::http
