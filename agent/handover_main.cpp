// SPDX-License-Identifier: Apache-2.0
// redis-cluster-agent-handover: the static client a preStop hook runs in the redis container.
// Linked with -static against agent_base only (no fmt, spdlog, hiredis), so it runs in any
// image, glibc or musl, with nothing but a kernel; it talks to the agent over its unix socket.
// Its flags, variables and defaults are those of `redis-cluster-agent handover` (one table,
// config/options.cpp).
#include <cstdio>
#include <string>
#include <vector>

#include "config/config.h"
#include "control/client.h"

extern char** environ;  // NOLINT(readability-identifier-naming)

namespace {

constexpr const char* kProgram = "redis-cluster-agent-handover";
constexpr const char* kIntro =
    "Asks the redis-cluster-agent of this pod to hand the master role of the local Redis to\n"
    "its best replica, and waits until roles have switched (or there is nothing to do).\n"
    "Exit code 0: handed over, or nothing to hand over; 1: failed; 2: bad usage.\n\n";

std::vector<std::string> environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

}  // namespace

int main(int argc, char** argv) {
  using agent::config::Command;
  std::vector<std::string> args(argv, argv + argc);
  auto config = agent::config::parseCommandLine(Command::Handover, args, environment(),
                                                agent::config::EnvPolicy::Lenient);
  if (!config) {
    std::fprintf(stderr, "%s: %s\n", kProgram, config.error().message.c_str());
    return 2;
  }
  if (config->help) {
    std::fputs(kIntro, stdout);
    std::fputs(agent::config::commandUsage(Command::Handover, kProgram).c_str(), stdout);
    return 0;
  }
  return agent::control::runHandoverClient(config->socketPath(), config->handover_timeout_ms);
}
