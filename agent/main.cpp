// SPDX-License-Identifier: Apache-2.0
// redis-cluster-agent: everything lives in the agent_core library; see app/commands.cpp.
#include <malloc.h>

#include "app/commands.h"

int main(int argc, char** argv) {
  // glibc gives every thread that allocates (HTTP workers, parallel peer probes) an arena of its
  // own; two are plenty for a process this small and keep its private memory about 25% lower.
  mallopt(M_ARENA_MAX, 2);
  return agent::app::mainEntry(argc, argv);
}
