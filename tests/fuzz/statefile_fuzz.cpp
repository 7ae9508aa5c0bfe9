// SPDX-License-Identifier: Apache-2.0
// The files beside nodes.conf (statefile format, the ordinal map): parsing never crashes, and
// what is rendered from a parse reads back the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "nodes_conf/ordinal_map.h"
#include "statefile/statefile.h"

using namespace agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = statefile::parse(text);
  auto again = statefile::parse(statefile::render("fuzz", entries));
  FUZZ_CHECK(again.size() == entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    FUZZ_CHECK(again[i].key == entries[i].key);
    FUZZ_CHECK(again[i].values == entries[i].values);
  }
  if (auto map = nodes_conf::OrdinalMap::parse(text)) {
    auto reread = nodes_conf::OrdinalMap::parse(map->render());
    FUZZ_CHECK(reread.has_value() && *reread == *map);
  }
  return 0;
}
