// SPDX-License-Identifier: Apache-2.0
// RESP replies from an untrusted peer: the first byte picks how the stream is cut into reads
// (a peer controls that too); the reader never crashes, never returns more replies than the
// guard counted, and stops at the first protocol error. ASan's RSS limit catches a cap that
// does not hold.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "redis/reply_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  agent::redis::ReplyReader reader;
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    if (!reader.feed(bytes.substr(at, std::min(chunk, bytes.size() - at)))) return 0;
    while (true) {
      auto reply = reader.next();
      if (!reply || !*reply) break;
    }
  }
  return 0;
}
