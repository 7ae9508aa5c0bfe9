// SPDX-License-Identifier: Apache-2.0
// INFO and CLUSTER INFO text ("key:value" lines) as a peer may send it: parsing never crashes,
// and every typed read of a field is total.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "redis/info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fields = agent::redis::InfoFields::parse(text);
  for (const auto& [key, value] : fields.all()) {
    FUZZ_CHECK(fields.get(key).has_value());
    (void)fields.integer(key);
    (void)fields.number(key);
  }
  (void)agent::redis::keyCount(fields);
  (void)fields.integerOr("cluster_known_nodes", 0);
  return 0;
}
