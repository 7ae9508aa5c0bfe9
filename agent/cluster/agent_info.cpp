// SPDX-License-Identifier: Apache-2.0
#include "cluster/agent_info.h"

#include <fmt/format.h>

#include "common/log.h"
#include "common/text.h"
#include "http/client.h"

namespace agent::cluster {

namespace {

constexpr int64_t kMaxOrdinal = 100000;
const log::Logger kLog("peers");

}  // namespace

std::string renderAgentInfo(const AgentInfo& info) {
  return fmt::format("nodeName:{}\nzone:{}\nordinal:{}\npod:{}\nset:{}\nnodeId:{}\nnodeFresh:{}\n",
                     info.k8s_node, info.zone, info.ordinal, info.pod, info.set, info.node_id,
                     info.node_fresh ? 1 : 0);
}

std::optional<AgentInfo> parseAgentInfo(std::string_view text) {
  if (text.size() > kMaxAgentInfoBytes) return std::nullopt;
  AgentInfo info;
  bool has_ordinal = false;
  for (auto& [key, value] : text::parseInfoFields(text)) {
    if (key == "ordinal") {
      auto n = text::parseInt(value);
      if (!n || *n < -1 || *n > kMaxOrdinal) return std::nullopt;
      info.ordinal = static_cast<int>(*n);
      has_ordinal = true;
    } else if (key == "nodeName") {
      info.k8s_node = value;
    } else if (key == "zone") {
      info.zone = value;
    } else if (key == "pod") {
      info.pod = value;
    } else if (key == "set") {
      info.set = value;
    } else if (key == "nodeId") {
      info.node_id = value;
    } else if (key == "nodeFresh") {
      info.node_fresh = value == "1";
    }
  }
  if (!has_ordinal) return std::nullopt;
  return info;
}

std::optional<AgentInfo> askAgent(const std::string& ip, int port, int64_t timeout_ms,
                                  const std::string& pod) {
  auto body = http::get(ip, port, "/peerinfo", timeout_ms, kMaxAgentInfoBytes);
  if (!body) {
    kLog.debug("No answer from the pod's agent", {{"pod", pod}, {"err", body.error().message}});
    return std::nullopt;
  }
  return parseAgentInfo(*body);
}

}  // namespace agent::cluster
