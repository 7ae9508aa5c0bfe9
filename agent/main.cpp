// SPDX-License-Identifier: Apache-2.0
// redis-cluster-agent: everything lives in the agent_core library; see app/commands.cpp.
#include "app/commands.h"

int main(int argc, char** argv) {
  return agent::app::mainEntry(argc, argv);
}
