// SPDX-License-Identifier: Apache-2.0
// redis-cluster-agent-handover: the static client a preStop hook runs in the redis container.
// Linked with -static against agent_base only (no fmt, spdlog, hiredis), so it runs in any
// image, glibc or musl, with nothing but a kernel; it talks to the agent over its unix socket.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/text.h"
#include "control/client.h"

namespace {

constexpr const char* kUsage =
    "Usage: redis-cluster-agent-handover [--runtime-dir DIR] [--timeout DURATION]\n\n"
    "Asks the redis-cluster-agent of this pod to hand the master role of the local Redis to\n"
    "its best replica, and waits until roles have switched (or there is nothing to do).\n"
    "Exit code 0: handed over, or nothing to hand over; 1: failed; 2: bad usage.\n\n"
    "  --runtime-dir DIR      directory holding agent.sock (env AGENT_RUNTIME_DIR,\n"
    "                         default /run/redis-cluster-agent)\n"
    "  --timeout DURATION     the whole handover budget (env AGENT_HANDOVER_TIMEOUT,\n"
    "                         default 20s)\n";

struct Args {
  std::string runtime_dir = "/run/redis-cluster-agent";
  std::string timeout = "20s";
};

const char* envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): single-threaded
  return v != nullptr && *v != '\0' ? v : fallback.c_str();
}

// Returns the exit code to stop with, or -1 to go on.
int parseArgs(int argc, char** argv, Args& args) {
  args.runtime_dir = envOr("AGENT_RUNTIME_DIR", args.runtime_dir);
  args.timeout = envOr("AGENT_HANDOVER_TIMEOUT", args.timeout);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::string* target = nullptr;
    std::string_view name = arg.substr(0, arg.find('='));
    if (name == "--runtime-dir") target = &args.runtime_dir;
    if (name == "--timeout") target = &args.timeout;
    if (target == nullptr) {
      std::fprintf(stderr, "redis-cluster-agent-handover: unknown argument '%s'\n", argv[i]);
      return 2;
    }
    if (arg.find('=') != std::string_view::npos) {
      *target = std::string(arg.substr(arg.find('=') + 1));
    } else if (i + 1 < argc) {
      *target = argv[++i];
    } else {
      std::fprintf(stderr, "redis-cluster-agent-handover: %s needs a value\n", argv[i]);
      return 2;
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (int rc = parseArgs(argc, argv, args); rc >= 0) return rc;
  auto timeout_ms = agent::text::parseDurationMs(args.timeout);
  if (!timeout_ms || *timeout_ms < 100) {
    std::fprintf(stderr, "redis-cluster-agent-handover: invalid --timeout '%s'\n",
                 args.timeout.c_str());
    return 2;
  }
  return agent::control::runHandoverClient(args.runtime_dir + "/" + agent::control::kSocketName,
                                           *timeout_ms);
}
