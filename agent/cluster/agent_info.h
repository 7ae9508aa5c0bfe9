// SPDX-License-Identifier: Apache-2.0
// What an agent says about its own pod on the read-only /peerinfo endpoint, and the one format
// of that answer ("key:value" lines, like INFO). Agents ask each other for it because an
// address proves nothing about which pod owns it: a stale or reused DNS record leads to another
// pod (or another cluster) whose Redis answers just the same. The pod's own agent knows which
// ordinal it is, which StatefulSet it belongs to and which node runs beside it; the rules that
// weigh this as evidence are in cluster/identity.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agent::cluster {

struct AgentInfo {
  int ordinal = -1;         // the agent's own ordinal (from its pod name)
  std::string pod;          // its pod name
  std::string set;          // its peer host template: names the StatefulSet (and namespace)
  std::string node_id;      // its local node, as of its last pass ("" before the first)
  bool node_fresh = false;  // that node started in this pod without any earlier nodes.conf
  std::string k8s_node;     // the Kubernetes node it runs on ("" without NODE_NAME)
  std::string zone;         // the zone of that node ("" without --zone; older agents omit it)
};

// The largest /peerinfo answer read; a longer one is not an agent's.
inline constexpr size_t kMaxAgentInfoBytes = 4096;

std::string renderAgentInfo(const AgentInfo& info);
// nullopt when the text is not an agent's answer (no ordinal line). Unknown keys are skipped,
// so newer agents can add some.
std::optional<AgentInfo> parseAgentInfo(std::string_view text);
// Asks the agent at ip:port (http/client.h: one deadline, kMaxAgentInfoBytes at most). nullopt
// when it did not answer in time or answered with something that is not an agent's (logged at
// debug level, for `pod`).
std::optional<AgentInfo> askAgent(const std::string& ip, int port, int64_t timeout_ms,
                                  const std::string& pod);

}  // namespace agent::cluster
