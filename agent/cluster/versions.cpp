// SPDX-License-Identifier: Apache-2.0
#include "cluster/versions.h"

#include <fmt/format.h>

namespace agent::cluster {

std::optional<redis::ServerInfo> serverOf(const std::vector<PeerProbe>& pods,
                                          const std::string& id) {
  for (const auto& p : pods) {
    if (!id.empty() && p.node_id == id && p.server) return p.server;
  }
  return std::nullopt;
}

std::optional<std::string> followRefusal(const Versioned& follower, const Versioned& master) {
  if (!follower.server || !master.server) return std::nullopt;
  if (redis::canFollow(*follower.server, *master.server)) return std::nullopt;
  return fmt::format(
      "{} cannot follow {}, a newer server: an older server cannot load a newer master's RDB, "
      "so it would never sync",
      redis::describeNode(follower.name, *follower.server),
      redis::describeNode(master.name, *master.server));
}

std::vector<std::string> unsupportedPods(const std::vector<PeerProbe>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) {
    if (!p.server) continue;
    if (Status st = redis::supportedServer(*p.server); !st) {
      out.push_back(fmt::format("{}: {}", p.pod(), st.error().message));
    }
  }
  return out;
}

}  // namespace agent::cluster
