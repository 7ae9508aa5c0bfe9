// SPDX-License-Identifier: Apache-2.0
#include "app/handover_service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "config/clients.h"
#include "control/install.h"
#include "handover/handover.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");
const log::Logger kHandoverLog("handover");

// Bounds on the budget a client may ask for.
constexpr int64_t kMinHandoverMs = 1000;
constexpr int64_t kMaxHandoverMs = 300000;
// While lingering, how often the local Redis is asked whether it still is a master with slots.
constexpr int64_t kRecheckMs = 100;

control::LineKind lineKind(handover::Outcome::Kind kind) {
  switch (kind) {
    case handover::Outcome::Kind::HandedOver: return control::LineKind::Done;
    case handover::Outcome::Kind::Skipped: return control::LineKind::Skipped;
    case handover::Outcome::Kind::Failed: return control::LineKind::Failed;
  }
  return control::LineKind::Failed;
}

void installClient(const std::string& runtime_dir, Activity& activity) {
  auto installed = control::installClient(runtime_dir);
  if (installed) {
    kLog.info("Installed the handover client", {{"path", *installed}});
    return;
  }
  activity.errors.add(ErrorKind::HandoverClientInstall);
  kLog.warn("Could not install the handover client; a preStop must bring its own",
            {{"err", installed.error().message}});
}

}  // namespace

HandoverService::HandoverService(const config::Config& config, redis::ConnectOptions connect,
                                 Activity& activity)
    : config_(config), connect_(std::move(connect)), activity_(activity) {}

void HandoverService::start() {
  if (Status made = control::ensureRuntimeDir(config_.runtime_dir); !made) {
    kLog.warn("Cannot create the runtime directory", {{"err", made.error().message}});
  }
  installClient(config_.runtime_dir, activity_);
  auto server = control::Server::start(
      config_.socketPath(),
      [this](const control::Request& r, const control::Emit& e) { return handle(r, e); });
  if (!server) {
    activity_.errors.add(ErrorKind::ControlSocket);
    kLog.error("Cannot open the control socket; handovers are impossible",
               {{"path", config_.socketPath()}, {"err", server.error().message}});
    return;
  }
  server_ = std::move(*server);
  kLog.info("Listening for handovers", {{"socket", config_.socketPath()}});
}

control::Line HandoverService::handle(const control::Request& request, const control::Emit& emit) {
  if (config_.mode == config::Mode::Observe) {
    kHandoverLog.info("Handover skipped: observe mode");
    return {control::LineKind::Skipped, "the agent runs in observe mode and never fails over"};
  }
  handover::Options options;
  options.local_host = config_.redis.host;
  options.local_port = config_.redis.port;
  options.timeout_ms = std::clamp(request.timeout_ms, kMinHandoverMs, kMaxHandoverMs);
  options.drain_max_ms = handover::kDrainMaxMs;
  options.drain_quiet_ms = handover::kDrainQuietMs;
  options.drain_min_ms = handover::kDrainMinMs;
  auto env = handover::redisEnvironment(connect_, config::serverNames(config_));
  auto outcome = handover::run(*env, options, [&](const std::string& step) {
    kHandoverLog.info("Handover step", {{"step", step}});
    emit(step);
  });
  log::Fields fields = {{"result", control::lineKindName(lineKind(outcome.kind))},
                        {"elapsedMs", outcome.elapsed_ms},
                        {"forced", outcome.forced},
                        {"drainMs", outcome.drain_ms},
                        {"redirected", outcome.redirected},
                        {"detail", outcome.message}};
  if (outcome.kind == handover::Outcome::Kind::HandedOver) {
    activity_.actions.add(outcome.forced ? Action::FailoverForce : Action::Failover);
    kHandoverLog.info("Handover finished", fields);
  } else if (outcome.kind == handover::Outcome::Kind::Failed) {
    activity_.errors.add(ErrorKind::HandoverFailed);
    kHandoverLog.warn("Handover failed; Redis will stop as the master", fields);
  } else {
    kHandoverLog.info("Handover not needed", fields);
  }
  return {lineKind(outcome.kind), outcome.message};
}

void HandoverService::linger(const std::function<bool()>& master_with_slots) {
  if (!server_ || config_.mode == config::Mode::Observe) return;
  int64_t served = server_->served();
  int64_t deadline = monotonicMs() + kStopLingerMs;
  int64_t next_check = 0;
  bool announced = false;
  while (server_->busy() || server_->served() == served) {
    int64_t now = monotonicMs();
    if (!server_->busy() && now >= deadline) return;
    if (!server_->busy() && now >= next_check) {
      if (!master_with_slots()) return;
      next_check = now + kRecheckMs;
    }
    if (!announced) {
      kLog.info("Waiting for a handover before stopping",
                {{"inProgress", server_->busy()}, {"maxWaitMs", kStopLingerMs}});
      announced = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace agent::app
