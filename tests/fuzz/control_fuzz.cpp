// SPDX-License-Identifier: Apache-2.0
// The control socket's line protocol, both sides: any line parses or is refused, and what the
// agent renders parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/protocol.h"
#include "fuzz_check.h"

using namespace agent::control;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto request = parseRequest(text)) {
    std::string line = renderRequest(*request);
    line.pop_back();  // the '\n' the socket reader strips
    auto again = parseRequest(line);
    FUZZ_CHECK(again.has_value() && again->timeout_ms == request->timeout_ms);
  }
  if (auto line = parseLine(text)) {
    std::string out = renderLine(line->kind, line->text);
    out.pop_back();
    auto again = parseLine(out);
    FUZZ_CHECK(again.has_value() && again->kind == line->kind);
  }
  return 0;
}
