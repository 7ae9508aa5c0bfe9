// SPDX-License-Identifier: Apache-2.0
// Whether `run` may act on its own Redis: only when that server is one the agent supports
// (redis::supportedServer: Redis 7.0+, Valkey 7.2+). Older ones lack commands the agent sends
// (CLUSTER ADDSLOTSRANGE, CLIENT PAUSE ... WRITE) and write nodes.conf formats it does not
// check, so the agent then creates, heals, hands over and moves nothing, and says why once:
// one error line naming the version found and the minimum, one unsupported_server error, the
// phase unsupported_server; probes and metrics are still served. Loop thread only.
#pragma once

#include <optional>
#include <string>

#include "cluster/snapshot.h"
#include "common/counters.h"
#include "redis/server_info.h"
#include "state/view.h"

namespace agent::app {

class ServerGate {
 public:
  explicit ServerGate(Activity& activity) : activity_(activity) {}
  // Reads the server from the local snapshot's INFO (it carries the server section). False
  // when the agent must not act on it; the refusal is logged and counted when it is new.
  bool allows(const cluster::Snapshot& local);
  // The local server and the refusal, if any, for the published view.
  void describe(state::StateView& view) const;
  const std::string& refusal() const { return refusal_; }

 private:
  Activity& activity_;
  std::optional<redis::ServerInfo> server_;
  std::string refusal_;  // "" while the server is supported
};

}  // namespace agent::app
