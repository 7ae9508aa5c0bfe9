// SPDX-License-Identifier: Apache-2.0
// Runner of the transport's end-to-end tests (real redis-server, certificates made by openssl).
// Exits 77 (meson: skipped) when a tool is missing, so a machine without them says so.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "common/log.h"
#include "servers.h"

int main(int argc, char** argv) {
  for (const char* tool : {"redis-server", "openssl"}) {
    if (agent::e2e::findProgram(tool).empty()) {
      std::printf("skipped: %s is not installed (scripts/install-deps.sh)\n", tool);
      return 77;
    }
  }
  agent::log::init(agent::log::Format::Text, agent::log::Level::Error);
  doctest::Context context(argc, argv);
  return context.run();
}
