// SPDX-License-Identifier: Apache-2.0
#include "app/commands.h"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <thread>

#include "app/agent.h"
#include "app/rebalance_command.h"
#include "app/scale_command.h"
#include "app/status.h"
#include "common/log.h"
#include "config/config.h"
#include "control/client.h"
#include "peers/resolver.h"
#include "prepare/prepare.h"
#include "prepare/record.h"
#include "redis/connection.h"
#include "version.h"

extern char** environ;  // NOLINT(readability-identifier-naming)

namespace agent::app {

std::vector<std::string> environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

namespace {

const log::Logger kLog("main");

int runPrepare(const config::Config& c) {
  peers::SystemResolver resolver;
  auto report = prepare::run(c, resolver);
  if (report && report->outcome == prepare::Outcome::Rewritten) {
    prepare::noteRewrite(c.nodes_conf, static_cast<int64_t>(report->plan.changes.size()));
  }
  if (!report) {
    kLog.error("prepare refused to continue", {{"err", report.error().message}});
    return kExitFailure;
  }
  return kExitOk;
}

// SIGTERM/SIGINT are blocked in every thread and taken by one thread with sigwait, so no code
// runs in a signal handler and the loops wake up through StopSignal.
class SignalThread {
 public:
  explicit SignalThread(StopSignal& stop) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([set, &stop] {
      int sig = 0;
      sigwait(&set, &sig);
      kLog.info("Received a stop signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      stop.request();
    });
  }
  ~SignalThread() {
    // Wake the thread if no signal came, so it can be joined. SIGTERM is blocked everywhere and
    // only ever consumed by this thread's sigwait: it wakes the thread, it cannot kill anything.
    pthread_kill(thread_.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
    thread_.join();
  }
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  std::thread thread_;
};

int runAgent(const config::Config& c) {
  auto password = redis::readPasswordFile(c.redis_password_file);
  if (!password) {
    kLog.error("Cannot read the Redis password", {{"err", password.error().message}});
    return kExitUsage;
  }
  StopSignal stop;
  SignalThread signals(stop);
  peers::SystemResolver resolver;
  Agent agent(c, resolver, *password);
  return agent.run(stop);
}

}  // namespace

int mainEntry(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (isRebalanceCommand(args)) return runRebalance(args);
  if (isScaleCommand(args)) return runScale(args);
  auto parsed = config::parse(args, environment());
  if (!parsed) {
    std::fprintf(stderr, "redis-cluster-agent: %s\n", parsed.error().message.c_str());
    return kExitUsage;
  }
  const config::Config& c = *parsed;
  if (c.help) {
    std::fputs(args.size() < 2 || c.command == config::Command::Version
                   ? config::usage().c_str()
                   : config::commandUsage(c.command).c_str(),
               stdout);
    return kExitOk;
  }
  log::init(c.log_format, c.log_level);
  switch (c.command) {
    case config::Command::Version:
      std::printf("redis-cluster-agent %s (%s)\n", kVersion, kRevision);
      return kExitOk;
    case config::Command::Prepare: return runPrepare(c);
    case config::Command::Run: return runAgent(c);
    case config::Command::Status: return runStatus(c);
    case config::Command::Handover:
      return control::runHandoverClient(c.socketPath(), c.handover_timeout_ms);
  }
  return kExitUsage;
}

}  // namespace agent::app
