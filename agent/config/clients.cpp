// SPDX-License-Identifier: Apache-2.0
#include "config/clients.h"

#include <utility>

namespace agent::config {

redis::ConnectOptions redisOptions(const Config& c, std::optional<std::string> password) {
  return {c.redis_timeout_ms, c.redis_timeout_ms, std::move(password), c.mode == Mode::Observe};
}

cluster::PeerPoolOptions peerPoolOptions(const Config& c, std::optional<std::string> password) {
  return {c.cluster_nodes, c.redis.port, c.pod_ip, redisOptions(c, std::move(password))};
}

}  // namespace agent::config
