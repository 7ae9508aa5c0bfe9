// SPDX-License-Identifier: Apache-2.0
#include "cluster/agent_info.h"

#include <fmt/format.h>

#include "common/text.h"

namespace agent::cluster {

namespace {

constexpr int64_t kMaxOrdinal = 100000;

}  // namespace

std::string renderAgentInfo(const AgentInfo& info) {
  return fmt::format("nodeName:{}\nordinal:{}\npod:{}\nset:{}\nnodeId:{}\nnodeFresh:{}\n",
                     info.k8s_node, info.ordinal, info.pod, info.set, info.node_id,
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

}  // namespace agent::cluster
