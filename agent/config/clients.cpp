// SPDX-License-Identifier: Apache-2.0
#include "config/clients.h"

#include <utility>

namespace agent::config {

redis::ConnectOptions redisOptions(const Config& c, std::optional<std::string> password) {
  return {c.redis_timeout_ms, c.redis_timeout_ms, std::move(password), c.mode == Mode::Observe};
}

cluster::PeerPoolOptions peerPoolOptions(const Config& c, std::optional<std::string> password) {
  cluster::PeerPoolOptions o;
  o.cluster_nodes = c.cluster_nodes;
  o.redis_port = c.redis.port;
  o.my_ip = c.pod_ip;
  o.connect = redisOptions(c, std::move(password));
  o.agent_port = c.http.port;
  return o;
}

}  // namespace agent::config
