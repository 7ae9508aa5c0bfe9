// SPDX-License-Identifier: Apache-2.0
#include "handover/plan.h"

#include <fmt/format.h>
#include <algorithm>

#include "cluster/health.h"
#include "common/host_port.h"
#include "common/text.h"

namespace agent::handover {

namespace {

// Why the master's CLUSTER NODES entry of a replica rules it out; empty when it does not.
std::string entryProblem(const nodes_conf::Node& n) {
  for (const char* flag : cluster::kNotWorkingFlags) {
    if (n.hasFlag(flag)) return fmt::format("flagged {}", flag);
  }
  if (!n.isConnected()) return "cluster bus link disconnected";
  if (n.address.host.empty()) return "no address";
  return {};
}

const ReplicaLink* findLink(const std::vector<ReplicaLink>& links, const nodes_conf::Node& n) {
  for (const auto& l : links) {
    if (l.ip == n.address.host && l.port == n.address.port()) return &l;
  }
  return nullptr;
}

bool better(const Candidate& a, const Candidate& b) {
  if (a.offset != b.offset) return a.offset > b.offset;
  if (a.lag != b.lag) return a.lag < b.lag;
  return a.id < b.id;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

std::string Candidate::describe() const {
  return fmt::format("node {} at {}", text::shortId(id), HostPort{host, port}.str());
}

std::optional<ReplicaLink> parseReplicaLink(std::string_view value) {
  ReplicaLink link;
  bool have_ip = false, have_port = false;
  for (std::string_view part : text::split(value, ',')) {
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = part.substr(0, eq), v = part.substr(eq + 1);
    if (key == "ip") {
      link.ip = std::string(v);
      have_ip = true;
    } else if (key == "port") {
      auto port = text::parseInt(v);
      have_port = port.has_value();
      link.port = static_cast<int>(port.value_or(0));
    } else if (key == "state") {
      link.state = std::string(v);
    } else if (key == "offset") {
      link.offset = text::parseInt(v).value_or(0);
    } else if (key == "lag") {
      link.lag = text::parseInt(v).value_or(0);
    }
  }
  if (!have_ip || !have_port) return std::nullopt;
  return link;
}

std::vector<ReplicaLink> replicaLinks(const redis::InfoFields& info) {
  std::vector<ReplicaLink> out;
  for (int i = 0;; ++i) {
    auto value = info.get(fmt::format("slave{}", i));
    if (!value) break;
    if (auto link = parseReplicaLink(*value)) out.push_back(std::move(*link));
  }
  return out;
}

Decision decide(const cluster::Snapshot& local) {
  Decision d;
  const nodes_conf::Node* me = local.myself();
  if (local.loading || me == nullptr) {
    d.reason = "the local Redis is loading its dataset; nothing to hand over";
    return d;
  }
  d.my_id = me->id;
  if (!me->isMaster()) {
    d.reason =
        fmt::format("this node ({}) is a replica; nothing to hand over", text::shortId(me->id));
    return d;
  }
  if (me->slots.empty()) {
    d.reason = fmt::format("this node ({}) is a master without slots; nothing to hand over",
                           text::shortId(me->id));
    return d;
  }
  auto links = replicaLinks(local.info);
  std::vector<std::string> rejected;
  for (const auto& n : local.nodes->nodes()) {
    if (!n.isReplica() || n.master_id != me->id) continue;
    Candidate c{n.id, n.address.host, n.address.port(), 0, 0};
    std::string problem = entryProblem(n);
    const ReplicaLink* link = findLink(links, n);
    if (problem.empty() && (link == nullptr || link->state != "online")) {
      problem = link == nullptr ? "no replication link to this master"
                                : fmt::format("replication state {}", link->state);
      d.syncing.push_back(c.describe());
    }
    if (!problem.empty()) {
      rejected.push_back(fmt::format("{}: {}", c.describe(), problem));
      continue;
    }
    c.offset = link->offset;
    c.lag = link->lag;
    d.candidates.push_back(std::move(c));
  }
  std::sort(d.candidates.begin(), d.candidates.end(), better);
  int64_t offset = local.info.integerOr("master_repl_offset", 0);
  if (d.candidates.empty()) {
    d.reason =
        fmt::format("this master ({}, {} slots) has no healthy replica{}{}", text::shortId(me->id),
                    me->slotCount(), rejected.empty() ? "" : ": ", joined(rejected));
    return d;
  }
  d.hand_over = true;
  const Candidate& best = d.candidates.front();
  d.reason = fmt::format(
      "this node ({}) is a master with {} slots at offset {}; best replica is {} at offset {} "
      "({} healthy){}{}",
      text::shortId(me->id), me->slotCount(), offset, best.describe(), best.offset,
      d.candidates.size(), rejected.empty() ? "" : "; ruled out: ", joined(rejected));
  return d;
}

std::optional<std::string> replicaProblem(const cluster::Snapshot& replica,
                                          const std::string& master_id) {
  const nodes_conf::Node* me = replica.myself();
  if (replica.loading || me == nullptr) return "it is loading its dataset";
  if (!me->isReplica()) return "it is not a replica (any more)";
  if (me->master_id != master_id) {
    return fmt::format("it follows {}, not this node", text::shortId(me->master_id));
  }
  if (replica.info.str("master_link_status") != "up") return "its replication link is down";
  if (replica.info.integerOr("master_sync_in_progress", 0) != 0) return "it is still syncing";
  const nodes_conf::Node* master = replica.nodes->find(master_id);
  if (master == nullptr) return "it does not know this node";
  if (master->isFailed() || master->isPfail()) return "it sees this node as failing";
  return std::nullopt;
}

bool midSync(const cluster::Snapshot& replica, const std::string& master_id) {
  const nodes_conf::Node* me = replica.myself();
  if (replica.loading || me == nullptr) return true;
  if (!me->isReplica() || me->master_id != master_id) return false;
  return replica.info.str("master_link_status") != "up" ||
         replica.info.integerOr("master_sync_in_progress", 0) != 0;
}

bool rolesSwitched(const cluster::Snapshot& old_master, const cluster::Snapshot& new_master,
                   const std::string& new_master_id) {
  const nodes_conf::Node* promoted = new_master.myself();
  const nodes_conf::Node* demoted = old_master.myself();
  if (promoted == nullptr || demoted == nullptr) return false;
  return promoted->id == new_master_id && promoted->isMaster() && !promoted->slots.empty() &&
         demoted->isReplica() && demoted->master_id == new_master_id;
}

bool caughtUp(const cluster::Snapshot& master, const cluster::Snapshot& replica) {
  auto master_offset = master.info.integer("master_repl_offset");
  auto replica_offset = replica.info.integer("slave_repl_offset");
  return master_offset && replica_offset && *master_offset == *replica_offset &&
         replica.info.str("master_link_status") == "up";
}

int64_t electionsStarted(const cluster::Snapshot& replica) {
  // Redis prints a message counter only once it is non-zero.
  return replica.cluster_info.integerOr("cluster_stats_messages_auth-req_sent", 0);
}

std::optional<std::string> forceBlocker(const ForceCheck& check) {
  if (check.elections_after != check.elections_before) {
    return "the replica already ran an election for this shard; masters that voted will not "
           "vote again for 2 x cluster-node-timeout, so a forced failover now would fail too";
  }
  if (check.remaining_ms < check.needed_ms) {
    return fmt::format("only {} ms of the handover budget left, a forced failover needs {} ms",
                       check.remaining_ms, check.needed_ms);
  }
  return std::nullopt;
}

}  // namespace agent::handover
