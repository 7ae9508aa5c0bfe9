// SPDX-License-Identifier: Apache-2.0
#include "probes/readiness.h"

#include <fmt/format.h>

#include "cluster/health.h"
#include "common/text.h"

namespace agent::probes {

namespace {

using nodes_conf::Node;

constexpr const char* kCheckNames[] = {"redis-ping",   "redis-loading", "cluster-joined",
                                       "replication",  "shard-slots",   "cluster-majority",
                                       "cluster-state"};

Check pingCheck(const Observation& obs) {
  // Redis that answers with an error is up: the checks it cannot decide say why, not this one.
  if (obs.snapshot != nullptr || obs.answered) return pass("redis-ping");
  std::string why = "Redis does not answer: " + obs.error;
  // A refused connection means the server is gone; a timeout may be one slow command.
  return obs.timed_out ? softFail("redis-ping", why) : hardFail("redis-ping", why);
}

Check loadingCheck(const cluster::Snapshot& s) {
  if (!s.loading) return pass("redis-loading");
  const auto& info = s.info;
  return hardFail("redis-loading", fmt::format("loading the dataset: {}% done, about {}s left",
                                               info.str("loading_loaded_perc", "?"),
                                               info.str("loading_eta_seconds", "?")));
}

// The master of this node's shard in its own view: itself, or the node it replicates.
const Node* shardMaster(const nodes_conf::NodesConf& nodes) {
  const Node& me = nodes.myself();
  return me.isMaster() ? &me : nodes.find(me.master_id);
}

Check joinedCheck(const cluster::Snapshot& s) {
  const Node& me = s.nodes->myself();
  if (me.isMaster() && me.slotCount() > 0) return pass("cluster-joined");
  if (me.isMaster()) {
    return hardFail("cluster-joined", s.nodes->nodes().size() == 1
                                          ? "not part of a cluster yet: knows only itself"
                                          : "a master that owns no slots");
  }
  const Node* master = s.nodes->find(me.master_id);
  if (master == nullptr) {
    return hardFail("cluster-joined", fmt::format("replicates node {}, which it does not know",
                                                  text::shortId(me.master_id)));
  }
  if (master->slotCount() == 0) {
    return hardFail("cluster-joined",
                    fmt::format("replicates {}, which owns no slots", text::shortId(master->id)));
  }
  return pass("cluster-joined");
}

Check replicationCheck(const cluster::Snapshot& s) {
  if (!s.isReplica()) return pass("replication");
  const auto& info = s.info;
  std::string master = info.str("master_host", "?") + ":" + info.str("master_port", "?");
  if (info.integerOr("master_sync_in_progress", 0) != 0) {
    return hardFail("replication", fmt::format("full sync from {} in progress ({} bytes received)",
                                               master, info.str("master_sync_read_bytes", "0")));
  }
  if (info.str("master_link_status") != "up") {
    // -1: the link was never up since this node became a replica (or restarted), so it has
    // nothing to serve yet. A link that was up and dropped may come back at once (PSYNC).
    int64_t down = info.integerOr("master_link_down_since_seconds", -1);
    if (down < 0) return hardFail("replication", "not synced with master " + master + " yet");
    return softFail("replication", fmt::format("link to master {} down for {}s", master, down));
  }
  return pass("replication");
}

Check shardCheck(const cluster::Snapshot& s) {
  const Node* master = shardMaster(*s.nodes);
  if (master == nullptr) return hardFail("shard-slots", "the shard's master is unknown");
  if (master->isMyself()) return pass("shard-slots");
  std::string who = fmt::format("master {} of this shard", text::shortId(master->id));
  if (master->isFailed()) return hardFail("shard-slots", who + " is flagged fail");
  for (const char* flag : {"fail?", "noaddr", "handshake"}) {
    if (master->hasFlag(flag)) return softFail("shard-slots", fmt::format("{} is {}", who, flag));
  }
  if (!master->isConnected()) return softFail("shard-slots", "no cluster bus link to " + who);
  return pass("shard-slots");
}

Check majorityCheck(const cluster::Snapshot& s) {
  int total = 0;
  int reached = 0;
  for (const auto& n : s.nodes->nodes()) {
    if (!n.isMaster() || n.slotCount() == 0) continue;
    ++total;
    if (cluster::reachable(n)) ++reached;
  }
  if (total > 0 && reached * 2 > total) return pass("cluster-majority");
  return softFail("cluster-majority",
                  fmt::format("reaches {} of {} masters that own slots", reached, total));
}

// Redis holds a master that just started at cluster_state fail for 2 s, and one that rejoined
// the majority for up to 5 s (docs/redis-facts.md, "Startup" and "The rejoin delay of a
// master"), whatever its view says: it answers CLUSTERDOWN, even for its own slots, meanwhile.
// A fail that the view explains (a slot without an owner or owned by a failed master, i.e.
// another shard's loss) is not this node's to report: the checks above judge the node's own
// part, so one lost shard does not make every pod unready.
Check stateCheck(const cluster::Snapshot& s) {
  if (s.clusterOk()) return pass("cluster-state");
  bool explained = s.slotsAssigned() < nodes_conf::kSlotCount ||
                   s.cluster_info.integerOr("cluster_slots_fail", 0) > 0;
  if (explained) return pass("cluster-state");
  return softFail("cluster-state",
                  "Redis reports cluster_state fail with every slot served in its view (a "
                  "master's delay after a restart or a rejoin): it answers CLUSTERDOWN");
}

// While Redis is down or loading, the cluster checks cannot be decided.
std::vector<Check> undecided(std::vector<Check> checks, const std::string& why) {
  for (size_t i = checks.size(); i < std::size(kCheckNames); ++i) {
    checks.push_back(hardFail(kCheckNames[i], "unknown: " + why));
  }
  return checks;
}

}  // namespace

std::vector<Check> readinessChecks(const Observation& obs) {
  std::vector<Check> checks{pingCheck(obs)};
  if (obs.snapshot == nullptr) {
    return undecided(std::move(checks), obs.answered ? obs.error : "Redis does not answer");
  }
  const cluster::Snapshot& s = *obs.snapshot;
  checks.push_back(loadingCheck(s));
  if (s.loading || !s.nodes) return undecided(std::move(checks), "Redis is loading");
  checks.push_back(joinedCheck(s));
  checks.push_back(replicationCheck(s));
  checks.push_back(shardCheck(s));
  checks.push_back(majorityCheck(s));
  checks.push_back(stateCheck(s));
  return checks;
}

Check ReadinessGate::step(Track& t, const Check& c, int64_t now_ms) const {
  if (c.ok) {
    t.failing_since = -1;
    if (t.passing_since < 0) t.passing_since = now_ms;
    if (!t.ok && now_ms - t.passing_since >= timing_.rise_ms) t.ok = true;
  } else {
    t.passing_since = -1;
    if (t.failing_since < 0) t.failing_since = now_ms;
    if (c.hard || now_ms - t.failing_since >= timing_.fall_ms) t.ok = false;
    if (!t.ok) t.reason = c.reason;
  }
  if (t.ok) return pass(c.name);
  if (c.ok) {
    std::string was = t.reason.empty() ? "" : " (was: " + t.reason + ")";
    return hardFail(c.name, fmt::format("passing for {}ms, counts after {}ms{}",
                                        now_ms - t.passing_since, timing_.rise_ms, was));
  }
  return {c.name, false, t.reason, c.hard};
}

std::vector<Check> ReadinessGate::update(const std::vector<Check>& instant, int64_t now_ms) {
  std::vector<Check> out;
  out.reserve(instant.size());
  for (const auto& c : instant) out.push_back(step(tracks_[c.name], c, now_ms));
  return out;
}

}  // namespace agent::probes
