// SPDX-License-Identifier: Apache-2.0
#include "cluster/health.h"

#include <fmt/format.h>
#include <map>

#include "common/text.h"

namespace agent::cluster {

namespace {

struct PodIndex {
  std::map<std::string, const PeerProbe*> by_id;  // pods that answer, by node ID
  int total = 0;                                  // pods in the StatefulSet, answering or not
};

void checkNodeEntry(const PeerProbe& viewer, const nodes_conf::Node& node, const PodIndex& pods,
                    std::vector<std::string>& out) {
  auto it = pods.by_id.find(node.id);
  if (it == pods.by_id.end()) {
    out.push_back(fmt::format("{} knows node {} at {} that no pod runs", viewer.pod(),
                              text::shortId(node.id), node.address.endpoint()));
    return;
  }
  const PeerProbe& pod = *it->second;
  if (node.address.host != pod.ip) {
    out.push_back(fmt::format("{} sees {} at '{}', but its address is {}", viewer.pod(), pod.pod(),
                              node.address.host, pod.ip));
  }
  for (const char* flag : kNotWorkingFlags) {
    if (node.hasFlag(flag))
      out.push_back(fmt::format("{} flags {} {}", viewer.pod(), pod.pod(), flag));
  }
  if (!node.isMyself() && !node.isConnected()) {
    out.push_back(fmt::format("{} has no link to {}", viewer.pod(), pod.pod()));
  }
}

void checkShards(const PeerProbe& viewer, const nodes_conf::NodesConf& nodes, int expected_masters,
                 int replicas, const PodIndex& pods, std::vector<std::string>& out) {
  int masters = 0;
  for (const auto& n : nodes.nodes()) {
    if (n.isMaster() && n.slots.empty() && !n.isFailed() && !n.inHandshake()) {
      auto it = pods.by_id.find(n.id);
      out.push_back(fmt::format(
          "{} sees {} as a master without slots (serving nothing, "
          "replicating nothing)",
          viewer.pod(), it == pods.by_id.end() ? text::shortId(n.id) : it->second->pod()));
    }
    if (!n.isMaster() || n.slots.empty()) continue;
    ++masters;
    int count = 0;
    for (const auto& r : nodes.nodes()) {
      if (r.master_id == n.id && r.isReplica()) ++count;
    }
    if (count < replicas) {
      auto it = pods.by_id.find(n.id);
      std::string name = it == pods.by_id.end() ? text::shortId(n.id) : it->second->pod();
      out.push_back(fmt::format("{} sees master {} with {} of {} replicas", viewer.pod(), name,
                                count, replicas));
    }
  }
  if (masters != expected_masters) {
    out.push_back(fmt::format("{} sees {} masters with slots, expected {}", viewer.pod(), masters,
                              expected_masters));
  }
}

void checkPod(const PeerProbe& p, const PodIndex& pods, int replicas, std::vector<std::string>& out,
              std::vector<std::string>& warnings) {
  const Snapshot& s = *p.snapshot;
  if (s.loading || !s.nodes) {
    out.push_back(fmt::format("{} is loading its dataset", p.pod()));
    return;
  }
  if (!s.clusterOk()) out.push_back(fmt::format("{} reports cluster_state fail", p.pod()));
  int64_t assigned = s.slotsAssigned();
  int64_t ok = s.cluster_info.integerOr("cluster_slots_ok", 0);
  if (assigned != nodes_conf::kSlotCount || ok != nodes_conf::kSlotCount) {
    out.push_back(
        fmt::format("{} sees {} slots assigned, {} ok (of 16384)", p.pod(), assigned, ok));
  }
  for (const auto& node : s.nodes->nodes()) checkNodeEntry(p, node, pods, out);
  for (const auto& [id, pod] : pods.by_id) {
    if (s.nodes->find(id) == nullptr)
      out.push_back(fmt::format("{} does not know {}", p.pod(), pod->pod()));
  }
  int expected_masters = pods.total / (replicas + 1);
  checkShards(p, *s.nodes, expected_masters, replicas, pods, out);
  if (s.isReplica() && s.info.str("master_link_status") != "up") {
    warnings.push_back(fmt::format("{}: replication link to its master is down", p.pod()));
  }
}

}  // namespace

bool working(const nodes_conf::Node& node) {
  for (const char* flag : kNotWorkingFlags) {
    if (node.hasFlag(flag)) return false;
  }
  return true;
}

bool reachable(const nodes_conf::Node& node) {
  return node.isMyself() || (node.isConnected() && working(node));
}

Health assess(const std::vector<PeerProbe>& pods, int replicas) {
  Health h;
  PodIndex index;
  index.total = static_cast<int>(pods.size());
  for (const auto& p : pods) {
    if (!p.ip.empty() && p.answering()) index.by_id[p.node_id] = &p;
  }
  for (const auto& p : pods) {
    if (p.ip.empty()) {
      h.problems.push_back(fmt::format("{} does not resolve: {}", p.pod(),
                                       p.error ? p.error->message : "no address"));
    } else if (!p.snapshot) {
      h.problems.push_back(fmt::format("{} ({}) does not answer: {}", p.pod(), p.ip,
                                       p.error ? p.error->message : "no reply"));
    }
  }
  for (const auto& p : pods) {
    if (p.snapshot) checkPod(p, index, replicas, h.problems, h.warnings);
  }
  h.healthy = h.problems.empty();
  return h;
}

}  // namespace agent::cluster
