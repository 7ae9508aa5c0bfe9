// SPDX-License-Identifier: Apache-2.0
#include "fake_shard.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace agent::testing {

std::string nodeId(char digit) {
  return std::string(40, digit);
}

FakeShard FakeShard::make(int replicas) {
  FakeShard s;
  FakeNode master;
  master.id = nodeId('a');
  master.ip = "10.0.0.1";
  master.slots = "0-5460";
  s.nodes.push_back(master);
  for (int r = 0; r < replicas; ++r) {
    FakeNode replica;
    replica.id = nodeId(static_cast<char>('b' + r));
    replica.ip = fmt::format("10.0.0.{}", 2 + r);
    replica.master = false;
    replica.follows = master.id;
    s.nodes.push_back(replica);
  }
  FakeNode other;
  other.id = nodeId('9');
  other.ip = "10.0.0.9";
  other.slots = "5461-16383";
  other.offset = 7;
  s.nodes.push_back(other);
  return s;
}

size_t FakeShard::indexOf(const std::string& id) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].id == id) return i;
  }
  FAIL("unknown node " << id);
  return 0;
}

std::string FakeShard::info(size_t i) const {
  const FakeNode& n = nodes[i];
  std::string out = fmt::format(
      "# Server\r\nredis_version:{}\r\n# Persistence\r\nloading:{}\r\n# Replication\r\n"
      "role:{}\r\n",
      n.redis_version, n.loading ? 1 : 0, n.master ? "master" : "slave");
  if (n.master) {
    int k = 0;
    for (const auto& r : nodes) {
      if (r.master || r.follows != n.id || !r.listed_by_master) continue;
      out += fmt::format("slave{}:ip={},port=6379,state={},offset={},lag=0\r\n", k++, r.ip,
                         r.repl_state, r.offset);
    }
    out += fmt::format("connected_slaves:{}\r\nmaster_repl_offset:{}\r\n", k, n.offset);
    return out;
  }
  const FakeNode& m = nodes[indexOf(n.follows)];
  out += fmt::format(
      "master_host:{}\r\nmaster_port:6379\r\nmaster_link_status:{}\r\n"
      "master_sync_in_progress:{}\r\nslave_repl_offset:{}\r\nmaster_repl_offset:{}\r\n",
      m.ip, n.link_up ? "up" : "down", n.syncing ? 1 : 0, n.offset, n.offset);
  return out;
}

std::string FakeShard::clusterInfo(size_t i) const {
  std::string out =
      "cluster_state:ok\r\ncluster_known_nodes:" + std::to_string(nodes.size()) + "\r\n";
  // Redis prints a message counter only once it is non-zero.
  if (nodes[i].auth_req_sent > 0) {
    out += fmt::format("cluster_stats_messages_auth-req_sent:{}\r\n", nodes[i].auth_req_sent);
  }
  return out;
}

std::string FakeShard::clusterNodes(size_t viewer) const {
  std::string out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const FakeNode& n = nodes[i];
    bool me = i == viewer;
    std::string flags = std::string(me ? "myself," : "") + (n.master ? "master" : "slave") +
                        (me ? "" : n.seen_flags);
    out += fmt::format("{} {}:6379@16379 {} {} 0 0 1 {}{}{}\n", n.id, n.ip, flags,
                       n.master ? "-" : n.follows, me ? "connected" : n.link,
                       n.slots.empty() ? "" : " ", n.slots);
  }
  return out;
}

cluster::Snapshot FakeShard::snapshot(size_t i) const {
  auto snap = nodes[i].loading
                  ? cluster::snapshotFromText(info(i), "", "")
                  : cluster::snapshotFromText(info(i), clusterInfo(i), clusterNodes(i));
  REQUIRE_MESSAGE(snap.has_value(), (snap ? "" : snap.error().message));
  return *snap;
}

void FakeShard::promote(size_t r, bool old_hears) {
  FakeNode& replica = nodes[r];
  size_t old = indexOf(replica.follows);
  replica.master = true;
  replica.slots = nodes[old].slots;
  replica.follows.clear();
  if (old_hears) demote(old, r);
}

void FakeShard::demote(size_t old, size_t new_master) {
  std::string old_id = nodes[old].id;
  nodes[old].master = false;
  nodes[old].slots.clear();
  for (auto& n : nodes) {
    if (n.id == old_id || (!n.master && n.follows == old_id)) n.follows = nodes[new_master].id;
  }
}

}  // namespace agent::testing
