// SPDX-License-Identifier: Apache-2.0
#include "cluster/snapshot.h"

#include "redis/connection.h"

namespace agent::cluster {

const nodes_conf::Node* Snapshot::myself() const {
  if (!nodes) return nullptr;
  return &nodes->myself();
}

std::string Snapshot::myId() const {
  const auto* me = myself();
  return me ? me->id : std::string();
}

namespace {

// `text` without the ping-sent and pong-received fields (the 5th and 6th word of each line).
void maskTimes(std::string_view text, std::string& out) {
  out.clear();
  int word = 0;
  for (char c : text) {
    if (c == '\n') {
      word = 0;
    } else if (c == ' ') {
      ++word;
    }
    if (word != 4 && word != 5) out += c;
  }
}

}  // namespace

Result<std::shared_ptr<const nodes_conf::NodesConf>> NodesCache::parse(std::string_view text) {
  maskTimes(text, scratch_);
  if (nodes_ && scratch_ == key_) {
    ++reused_;
    return nodes_;
  }
  auto parsed = nodes_conf::parseClusterNodes(text);
  if (!parsed) return parsed.error();
  nodes_ = std::make_shared<const nodes_conf::NodesConf>(std::move(*parsed));
  key_.swap(scratch_);
  return nodes_;
}

Result<Snapshot> snapshotFromText(std::string_view info, std::string_view cluster_info,
                                  std::string_view cluster_nodes, NodesCache* cache) {
  Snapshot s;
  s.info = redis::InfoFields::parse(info);
  s.loading = s.info.integerOr("loading", 0) != 0;
  s.keys = redis::keyCount(s.info);
  if (cluster_nodes.empty()) return s;
  s.cluster_info = redis::InfoFields::parse(cluster_info);
  if (cache != nullptr) {
    auto nodes = cache->parse(cluster_nodes);
    if (!nodes) return fail(Errc::Protocol, "CLUSTER NODES: " + nodes.error().message);
    s.nodes = std::move(*nodes);
    return s;
  }
  auto nodes = nodes_conf::parseClusterNodes(cluster_nodes);
  if (!nodes) return fail(Errc::Protocol, "CLUSTER NODES: " + nodes.error().message);
  s.nodes = std::make_shared<const nodes_conf::NodesConf>(std::move(*nodes));
  return s;
}

namespace {

// Redis answered, but not to a command the agent needs (docs/redis-facts.md, "A command renamed
// away"): say which one and why it may be missing, so that nobody looks for a network problem
// (the server answers PING).
Error explained(const std::string& command, const Error& e) {
  if (!redis::isUnknownCommandError(e)) return e;
  return fail(Errc::Server, "Redis answers, but not to " + command +
                                ": it is renamed or disabled (rename-command in the Redis "
                                "configuration?); the agent needs it under its own name. "
                                "Redis said: " +
                                e.message);
}

}  // namespace

Result<Snapshot> takeSnapshot(redis::Connection& conn, NodesCache* cache) {
  auto info = conn.commandString({"INFO"});
  if (!info) return explained("INFO", info.error());
  auto cluster_info = conn.commandString({"CLUSTER", "INFO"});
  if (!cluster_info) {
    if (redis::isLoadingError(cluster_info.error())) return snapshotFromText(*info, "", "");
    return explained("CLUSTER", cluster_info.error());
  }
  auto nodes = conn.commandString({"CLUSTER", "NODES"});
  if (!nodes) {
    if (redis::isLoadingError(nodes.error())) return snapshotFromText(*info, "", "");
    return explained("CLUSTER", nodes.error());
  }
  return snapshotFromText(*info, *cluster_info, *nodes, cache);
}

}  // namespace agent::cluster
