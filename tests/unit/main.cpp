// SPDX-License-Identifier: Apache-2.0
// doctest runner shared by every unit-test executable; logs stay quiet unless a test fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "common/log.h"

int main(int argc, char** argv) {
  agent::log::init(agent::log::Format::Text, agent::log::Level::Error);
  doctest::Context context(argc, argv);
  return context.run();
}
