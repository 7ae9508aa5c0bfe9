// SPDX-License-Identifier: Apache-2.0
// Flags and environment: the input is NUL-separated words; words before an empty one are
// argv, the rest "NAME=value" environment entries. Parsing never crashes, and a valid
// configuration keeps its derived limits in range (no overflow of the liveness limit).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"redis-cluster-agent"};
  std::vector<std::string> env;
  bool in_env = false;
  size_t begin = 0;
  while (begin <= text.size() && args.size() + env.size() < 64) {
    size_t end = std::min(text.find('\0', begin), text.size());
    std::string word(text.substr(begin, end - begin));
    begin = end + 1;
    if (word.empty()) {
      in_env = true;
    } else {
      (in_env ? env : args).push_back(std::move(word));
    }
  }
  if (auto config = agent::config::parse(args, env)) {
    FUZZ_CHECK(config->poll_interval_ms > 0);
    FUZZ_CHECK(config->poll_interval_ms <= int64_t{1} << 40);
  }
  return 0;
}
