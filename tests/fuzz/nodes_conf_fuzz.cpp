// SPDX-License-Identifier: Apache-2.0
// nodes.conf and CLUSTER NODES text: parsing never crashes, and a file that parses is written
// back byte for byte (prepare rewrites only the lines it changes) and parses the same again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "nodes_conf/nodes_conf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto conf = agent::nodes_conf::parse(text)) {
    std::string out = conf->render();
    FUZZ_CHECK(out == text);
    auto again = agent::nodes_conf::parse(out);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->nodes().size() == conf->nodes().size());
  }
  (void)agent::nodes_conf::parseClusterNodes(text);
  return 0;
}
