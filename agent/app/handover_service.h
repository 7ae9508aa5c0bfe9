// SPDX-License-Identifier: Apache-2.0
// The handover side of `run`: makes sure the runtime dir exists, installs the static client
// there, serves the control socket (each handover runs on the socket's thread, with its own
// Redis connections) and, when the agent stops, lingers for a handover that is on its way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "common/counters.h"
#include "config/config.h"
#include "control/server.h"
#include "redis/connection.h"

namespace agent::app {

class HandoverService {
 public:
  HandoverService(const config::Config& config, redis::ConnectOptions connect, Activity& activity);

  // Loop thread, once. A failure is logged and counted; the agent runs on without handovers.
  void start();
  // Loop thread, after the loop ended. Classic sidecar mode: this container's SIGTERM and the
  // redis container's preStop come at about the same time, in any order. A handover in progress
  // is finished; while `master_with_slots()` (a fresh look at the local Redis) holds, one that
  // has not arrived yet gets kStopLingerMs. As a native sidecar the agent is stopped after Redis
  // has exited, and this returns at once.
  void linger(const std::function<bool()>& master_with_slots);
  // Closes the socket, after the request being served (bounded) has finished.
  void stop() { server_.reset(); }
  // True once a preStop has asked for a handover: this pod is being deleted.
  bool asked() const { return server_ && (server_->busy() || server_->served() > 0); }

  // After SIGTERM, how long a master's agent keeps the control socket open for a handover that
  // has not arrived yet.
  static constexpr int64_t kStopLingerMs = 5000;

 private:
  // The control socket's thread: touches only the configuration, `connect_` and the counters.
  control::Line handle(const control::Request& request, const control::Emit& emit);

  const config::Config& config_;
  redis::ConnectOptions connect_;
  Activity& activity_;
  std::unique_ptr<control::Server> server_;
};

}  // namespace agent::app
