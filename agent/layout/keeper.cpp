// SPDX-License-Identifier: Apache-2.0
#include "layout/keeper.h"

#include <fmt/format.h>
#include <algorithm>
#include <set>

#include "cluster/health.h"
#include "cluster/versions.h"
#include "common/log.h"
#include "common/text.h"
#include "redis/info.h"

namespace agent::layout {

namespace {

const log::Logger kLog("layout");

std::string slotText(const nodes_conf::Node& n) {
  std::string out;
  for (const auto& r : n.slots) out += fmt::format("{}-{},", r.first, r.last);
  return out;
}

// The masters with slots of a view, as "id=slots" in ID order: what every pod must agree on.
std::set<std::string> mastersOf(const cluster::Snapshot& snap) {
  std::set<std::string> out;
  for (const auto& n : snap.nodes->nodes()) {
    if (n.isMaster() && !n.slots.empty()) out.insert(n.id + "=" + slotText(n));
  }
  return out;
}

std::optional<std::string> replicaLinkProblem(const redis::InfoFields& info) {
  if (info.str("master_link_status") != "up") return "its replication link is down";
  if (info.integerOr("master_sync_in_progress", 0) != 0) return "it is still syncing";
  return std::nullopt;
}

// Why the pods, each by its own fresh view, do not agree that the cluster is settled as the
// local view says; nullopt when they all do.
std::optional<std::string> disagreement(const std::vector<cluster::PeerProbe>& pods,
                                        const cluster::Snapshot& local) {
  auto masters = mastersOf(local);
  auto epoch = local.cluster_info.str("cluster_current_epoch");
  for (const auto& p : pods) {
    if (!p.live()) {
      return fmt::format("{} did not answer: {}", p.pod(),
                         p.error ? p.error->message : std::string("no fresh answer"));
    }
    if (auto why = unsettled(*p.snapshot)) return fmt::format("{}: {}", p.pod(), *why);
    if (p.snapshot->cluster_info.str("cluster_current_epoch") != epoch) {
      return fmt::format("{} is at another current epoch", p.pod());
    }
    if (mastersOf(*p.snapshot) != masters) return fmt::format("{} sees other masters", p.pod());
  }
  return std::nullopt;
}

const cluster::PeerProbe* podOf(const std::vector<cluster::PeerProbe>& pods,
                                const std::string& id) {
  for (const auto& p : pods) {
    if (p.node_id == id) return &p;
  }
  return nullptr;
}

// Why `move` must not happen for the servers' sake: after the failover every other member of
// the shard (the old master included) follows the new master, and none may be older than it
// (docs/redis-facts.md, "Server versions and which way replication works").
std::optional<std::string> versionProblem(const Shard& shard, const Move& move,
                                          const std::vector<cluster::PeerProbe>& pods,
                                          const cluster::Snapshot& local) {
  cluster::Versioned to{move.to_name, redis::serverInfoFrom(local.info)};
  for (const auto& m : shard.members) {
    if (m.id == move.to) continue;
    if (auto why = cluster::followRefusal({m.name, cluster::serverOf(pods, m.id)}, to)) return why;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> unsettled(const cluster::Snapshot& snap) {
  const nodes_conf::Node* me = snap.myself();
  if (snap.loading || me == nullptr) return "the node is loading its dataset";
  if (!snap.clusterOk()) return "cluster_state is fail";
  int64_t ok = snap.cluster_info.integerOr("cluster_slots_ok", 0);
  if (ok != nodes_conf::kSlotCount) return fmt::format("{} slots are not ok", 16384 - ok);
  for (const auto& n : snap.nodes->nodes()) {
    for (const char* flag : cluster::kNotWorkingFlags) {
      if (n.hasFlag(flag)) return fmt::format("node {} is flagged {}", text::shortId(n.id), flag);
    }
    if (!n.isMyself() && !n.isConnected()) {
      return fmt::format("the link to node {} is down", text::shortId(n.id));
    }
  }
  if (!me->open_slots.empty()) return "slots are migrating or importing";
  if (me->isReplica()) {
    if (auto why = replicaLinkProblem(snap.info)) return "replica: " + *why;
  }
  return std::nullopt;
}

std::string fingerprint(const cluster::Snapshot& snap) {
  std::string out = snap.cluster_info.str("cluster_current_epoch");
  std::vector<std::string> lines;
  for (const auto& n : snap.nodes->nodes()) {
    lines.push_back(fmt::format("{} {} {} {} {}", n.id, n.address.endpoint(),
                                n.isMaster() ? "m" : "r", n.master_id, slotText(n)));
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) out += "\n" + l;
  return out;
}

Keeper::Keeper(KeeperOptions options, cluster::Pods& pods, PeerLookup lookup, Activity& activity,
               Clock& clock)
    : options_(std::move(options)),
      pods_(pods),
      lookup_(std::move(lookup)),
      activity_(activity),
      clock_(clock) {
  report_.target = options_.target;
}

int64_t Keeper::neededQuietMs() const {
  // A master votes for a replica of one master at most once per 2 x node-timeout: a second
  // move of the same shard inside that window would fail with writes paused meanwhile
  // (docs/redis-facts.md, "Failover votes").
  return std::max(options_.quiet_ms, 2 * options_.node_timeout_ms);
}

bool Keeper::refreshPlaces(const nodes_conf::NodesConf& view, const std::string& my_id,
                           int64_t now) {
  bool changed = false;
  std::set<std::string> seen;
  int asked = 0;
  places_settled_ = true;  // until a node without a place at its address is found
  for (const auto& n : view.nodes()) {
    seen.insert(n.id);
    Known& k = known_[n.id];
    if (n.id == my_id) {
      changed |= !k.place;
      k.place = options_.me;
      continue;
    }
    const std::string& ip = n.address.host;
    if (k.place && k.ip == ip && !ip.empty()) continue;
    places_settled_ = false;
    if (ip.empty()) continue;
    bool moved = k.ip != ip;
    if (!moved && now - k.tried_ms < kLookupRetryMs) continue;
    if (asked++ >= kLookupsPerPass) continue;
    changed |= k.place.has_value();
    k = Known{ip, std::nullopt, now};
    auto answer = lookup_(ip);
    // An answer for another node ID (a reused address) tells nothing about this node.
    if (answer && (answer->node_id.empty() || answer->node_id == n.id)) {
      k.place = answer->place;
      changed = true;
    }
  }
  for (auto it = known_.begin(); it != known_.end();) {
    it = seen.count(it->first) ? std::next(it) : known_.erase(it);
  }
  return changed;
}

std::map<std::string, Place> Keeper::places() const {
  std::map<std::string, Place> out;
  for (const auto& [id, k] : known_) {
    if (k.place) out[id] = *k.place;
  }
  return out;
}

void Keeper::replan(const cluster::Snapshot& local) {
  Input in;
  in.view = &*local.nodes;
  in.places = places();
  in.preferred_masters = creatorMasters(options_.nodes, options_.replicas, in.places);
  in.target = options_.target;
  report_.plan = plan(in);
  report_.planned = true;
  logPlan();
}

// One line per off-layout shard whenever the plan changes.
void Keeper::logPlan() {
  std::string key;
  for (const auto& m : report_.plan.moves) key += m.from + ">" + m.to + ";";
  if (key == logged_plan_) return;
  logged_plan_ = key;
  for (const auto& s : report_.plan.shards) {
    if (!s.off()) continue;
    kLog.info("Shard is off its layout", {{"slots", s.slots},
                                          {"master", s.master().name},
                                          {"wanted", s.members[s.wanted].name},
                                          {"reason", s.reason},
                                          {"keeper", targetName(options_.target)}});
  }
  if (key.empty()) kLog.info("Every shard's master is where the layout wants it");
}

void Keeper::wait(std::string detail) {
  report_.state = "waiting";
  report_.detail = std::move(detail);
}

bool Keeper::noteView(const cluster::Snapshot& local, const std::string& my_id, int64_t now,
                      bool& placed) {
  std::string epoch = local.cluster_info.str("cluster_current_epoch");
  bool same = local.nodes == seen_view_ && epoch == seen_epoch_;
  if (!same || !places_settled_) placed = refreshPlaces(*local.nodes, my_id, now);
  if (same) return false;
  seen_view_ = local.nodes;
  seen_epoch_ = std::move(epoch);
  std::string print = fingerprint(local);
  if (print == fingerprint_) return false;
  fingerprint_ = std::move(print);
  quiet_since_ms_ = now;
  return true;
}

bool Keeper::step(const cluster::Snapshot& local, bool may_act) {
  int64_t now = clock_.monotonicMs();
  const nodes_conf::Node* me = local.myself();
  if (local.loading || me == nullptr || local.slotsAssigned() != nodes_conf::kSlotCount) {
    report_.planned = false;
    wait("the local node is not part of a formed cluster");
    quiet_since_ms_ = now;
    return false;
  }
  bool placed = false;
  bool changed = noteView(local, me->id, now, placed);
  auto why = unsettled(local);
  if (why) quiet_since_ms_ = now;
  if (changed || placed || !report_.planned) replan(local);
  report_.quiet_ms = now - quiet_since_ms_;
  report_.needed_ms = neededQuietMs();
  if (pending_) return followPending(local, now);
  return decide(local, may_act, now);
}

bool Keeper::decide(const cluster::Snapshot& local, bool may_act, int64_t now) {
  const Plan& p = report_.plan;
  if (options_.target == Target::Off) {
    report_.state = "off";
    report_.detail = "the layout keeper is turned off (--layout-keeper=off)";
    return false;
  }
  if (p.moves.empty()) {
    report_.state = "idle";
    report_.detail = "every shard's master is where the layout wants it";
    return false;
  }
  const Move& next = p.moves.front();
  const Shard& shard = p.shards[next.shard];
  if (next.to != local.myId()) {
    wait(fmt::format("{} takes over slots {} next; its agent acts", next.to_name, shard.slots));
    return false;
  }
  if (!options_.acts || !may_act) {
    wait(options_.acts ? "this pod is being created or deleted" : "observe mode");
    return false;
  }
  if (!p.unknown.empty()) {
    wait(fmt::format("where {} run(s) is not known yet", fmt::join(p.unknown, ", ")));
    return false;
  }
  if (auto why = unsettled(local)) {
    wait("the cluster is not settled: " + *why);
    return false;
  }
  if (report_.quiet_ms < report_.needed_ms) {
    wait(fmt::format("quiet for {} s of {} s", report_.quiet_ms / 1000, report_.needed_ms / 1000));
    return false;
  }
  if (now < next_attempt_ms_) {
    wait(fmt::format("{}; next attempt in {} s", held_back_, (next_attempt_ms_ - now) / 1000));
    return false;
  }
  attempt(next, local, now);
  return pending_.has_value();
}

// The replica has everything its master had when the master was read: its offset, read after
// the master's, has reached it, its link is up and no sync runs. Then the manual failover's
// own wait for equal offsets (with the master's writes paused) is a matter of milliseconds.
std::optional<std::string> Keeper::notInSync(const Move& move) {
  const cluster::PeerProbe* master = podOf(pods_.last(), move.from);
  if (master == nullptr) return "the master's pod did not answer";
  int64_t master_offset = master->snapshot->info.integerOr("master_repl_offset", -1);
  auto reply = pods_.command(cluster::kLocal, {"INFO", "replication"});
  if (!reply) return "the local Redis did not answer INFO: " + reply.error().message;
  auto info = redis::InfoFields::parse(reply->str);
  if (auto why = replicaLinkProblem(info)) return *why;
  if (info.str("master_host").empty()) return "it is not a replica any more";
  int64_t mine = info.integerOr("slave_repl_offset", -1);
  if (mine < master_offset) {
    return fmt::format("its offset {} is behind the master's {}", mine, master_offset);
  }
  return std::nullopt;
}

void Keeper::attempt(const Move& move, const cluster::Snapshot& local, int64_t now) {
  const Shard& shard = report_.plan.shards[move.shard];
  auto pods = pods_.probeAll(cluster::Pods::Depth::Snapshot, kConfirmBudgetMs);
  if (auto why = disagreement(pods, local)) {
    // Not every pod sees what this one sees: the cluster has not been quiet after all.
    quiet_since_ms_ = clock_.monotonicMs();
    report_.quiet_ms = 0;
    wait("not every pod agrees the cluster is settled: " + *why);
    return;
  }
  if (auto why = versionProblem(shard, move, pods, local)) {
    refuse(*why, now);
    return;
  }
  if (auto why = notInSync(move)) {
    wait("this replica is not in sync: " + *why);
    return;
  }
  kLog.info("Moving the shard's master to this node with CLUSTER FAILOVER",
            {{"slots", shard.slots},
             {"from", shard.master().name},
             {"reason", move.reason},
             {"quietMs", report_.quiet_ms}});
  activity_.actions.add(Action::LayoutFailover);
  auto sent = pods_.command(cluster::kLocal, {"CLUSTER", "FAILOVER"});
  if (!sent) {
    failed("CLUSTER FAILOVER refused: " + sent.error().message, now);
    return;
  }
  pending_ = Pending{move, now};
  report_.state = "moving";
  report_.detail = fmt::format("taking over slots {} from {}", shard.slots, shard.master().name);
}

bool Keeper::followPending(const cluster::Snapshot& local, int64_t now) {
  const nodes_conf::Node* me = local.myself();
  int64_t elapsed = now - pending_->started_ms;
  if (me->isMaster() && !me->slots.empty()) {
    kLog.info("Layout move done: this node is the shard's master",
              {{"from", pending_->move.from}, {"elapsedMs", elapsed}});
    pending_.reset();
    backoff_ms_ = 0;
    report_.state = "idle";
    report_.detail = "the last move is done";
    return false;
  }
  if (elapsed > kAttemptMs) {
    failed(fmt::format("roles did not switch within {} ms", kAttemptMs), now);
    return false;
  }
  report_.state = "moving";
  return true;
}

void Keeper::failed(const std::string& why, int64_t now) {
  pending_.reset();
  activity_.errors.add(ErrorKind::LayoutFailoverFailed);
  backoff_ms_ = std::min(kMaxBackoffMs, backoff_ms_ == 0 ? neededQuietMs() : backoff_ms_ * 2);
  next_attempt_ms_ = now + backoff_ms_;
  kLog.warn("Layout move failed; the master stays where it is",
            {{"err", why}, {"retryInMs", backoff_ms_}});
  held_back_ = "the last move failed";
  wait("the last move failed: " + why);
}

void Keeper::refuse(const std::string& why, int64_t now) {
  activity_.errors.add(ErrorKind::OlderReplicaRefused);
  backoff_ms_ = std::min(kMaxBackoffMs, backoff_ms_ == 0 ? neededQuietMs() : backoff_ms_ * 2);
  next_attempt_ms_ = now + backoff_ms_;
  kLog.warn(
      "Not moving the shard's master to this node: the move would make an older node "
      "follow a newer master",
      {{"reason", why}, {"retryInMs", backoff_ms_}});
  held_back_ = "the move is refused: " + why;
  wait(held_back_);
}

}  // namespace agent::layout
