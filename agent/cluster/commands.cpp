// SPDX-License-Identifier: Apache-2.0
#include "cluster/commands.h"

#include "common/text.h"
#include "redis/connection.h"

namespace agent::cluster {

namespace {

const Command kNodeTimeoutGet = {"CONFIG", "GET", "cluster-node-timeout"};

std::optional<int64_t> nodeTimeoutFrom(const Result<redis::Reply>& reply) {
  if (!reply || reply->elements.size() != 2) return std::nullopt;
  return text::parseInt(reply->elements[1].str);
}

const nodes_conf::Node* ownEntry(const PeerProbe& pod) {
  return pod.snapshot ? pod.snapshot->myself() : nullptr;
}

}  // namespace

Command meetCommand(const std::string& ip, int port, int bus_port) {
  return {"CLUSTER", "MEET", ip, std::to_string(port), std::to_string(bus_port)};
}

Command meetCommand(const PeerProbe& pod, const nodes_conf::Node* known, int fallback_port) {
  const nodes_conf::Node* own = ownEntry(pod);
  int port = fallback_port;
  if (own != nullptr && own->address.port() > 0) {
    port = own->address.port();
  } else if (known != nullptr && known->address.port() > 0) {
    port = known->address.port();
  }
  int bus = port + 10000;
  if (own != nullptr && own->address.busPort() > 0) {
    bus = own->address.busPort();
  } else if (known != nullptr && known->address.busPort() > 0) {
    bus = known->address.busPort();
  }
  return meetCommand(pod.ip, port, bus);
}

std::vector<Command> roleAnnouncement(const std::vector<PeerProbe>& pods, int replica_ordinal,
                                      int fallback_port, const nodes_conf::NodesConf* known) {
  std::vector<Command> out;
  for (const auto& p : pods) {
    if (p.ordinal == replica_ordinal || !p.live()) continue;
    if (known != nullptr && known->find(p.node_id) == nullptr) continue;
    out.push_back(meetCommand(p, nullptr, fallback_port));
  }
  return out;
}

Command failoverForceCommand() {
  return {"CLUSTER", "FAILOVER", "FORCE"};
}

Status forceTakeover(Pods& pods, int ordinal) {
  auto reply = pods.command(ordinal, failoverForceCommand());
  if (!reply) return reply.error();
  return {};
}

std::optional<int64_t> readNodeTimeout(Pods& pods, int ordinal) {
  return nodeTimeoutFrom(pods.command(ordinal, kNodeTimeoutGet));
}

std::optional<int64_t> readNodeTimeout(redis::Connection& conn) {
  return nodeTimeoutFrom(conn.command(kNodeTimeoutGet));
}

Result<redis::Reply> setNodeTimeout(Pods& pods, int ordinal, int64_t ms) {
  return pods.command(ordinal, {"CONFIG", "SET", "cluster-node-timeout", std::to_string(ms)});
}

}  // namespace agent::cluster
