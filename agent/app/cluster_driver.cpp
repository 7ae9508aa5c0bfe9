// SPDX-License-Identifier: Apache-2.0
#include "app/cluster_driver.h"

#include <fmt/format.h>
#include <algorithm>
#include <limits>

#include "cluster/health.h"
#include "cluster/identity.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/text.h"
#include "statefile/statefile.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

// How long ordinal 0, already in a formed cluster, lets its creator wait for a silent pod.
constexpr int64_t kCreatorPatienceMs = 10000;
// The healer's node-timeout until the local Redis tells its own (Redis' default).
constexpr int64_t kDefaultNodeTimeoutMs = 15000;
// How long the layout keeper waits for a peer's /peerinfo when the pool has no fresh answer.
constexpr int64_t kPeerInfoTimeoutMs = 300;

cluster::CreatorOptions creatorOptions(const config::Config& c, int probe_workers) {
  return {c.cluster_nodes, c.cluster_replicas,   c.node_name,           c.zone,
          c.crash_after,   c.peer_host_template, c.ordinal.value_or(0), probe_workers};
}

cluster::HealerOptions healerOptions(const config::Config& c) {
  return {c.ordinal.value_or(0), c.cluster_nodes,      c.redis.port,
          kDefaultNodeTimeoutMs, c.peer_host_template, c.cluster_replicas};
}

cluster::AttentionOptions attentionOptions(const config::Config& c) {
  cluster::AttentionOptions o;
  o.my_ordinal = c.ordinal.value_or(0);
  o.nodes = c.cluster_nodes;
  o.fast_ms = ClusterDriver::kAttentionPollMs;
  o.max_backoff_ms = std::max(ClusterDriver::kAttentionPollMs, c.poll_interval_ms);
  o.sweep_ms = c.sweep_interval_ms;
  o.seed = static_cast<uint64_t>(wallMs()) ^ static_cast<uint64_t>(o.my_ordinal);
  return o;
}

layout::KeeperOptions keeperOptions(const config::Config& c) {
  layout::KeeperOptions o;
  o.target = layoutTarget(c.layout_keeper);
  o.acts = c.mode == config::Mode::Act;
  o.quiet_ms = c.layout_quiet_ms;
  o.node_timeout_ms = kDefaultNodeTimeoutMs;
  o.nodes = c.cluster_nodes;
  o.replicas = c.cluster_replicas;
  o.me = {c.ordinal.value_or(-1), c.pod_name, {c.node_name, c.zone}};
  return o;
}

cluster::Placement placeOf(const cluster::AgentInfo& info) {
  return {info.k8s_node, info.zone};
}

}  // namespace

layout::Target layoutTarget(config::LayoutKeeper k) {
  switch (k) {
    case config::LayoutKeeper::Off: return layout::Target::Off;
    case config::LayoutKeeper::Spread: return layout::Target::Spread;
    case config::LayoutKeeper::Ordinals: return layout::Target::Ordinals;
  }
  return layout::Target::Off;
}

cluster::AgentInfo selfInfo(const config::Config& config, const std::string& node_id,
                            bool node_fresh) {
  cluster::AgentInfo info;
  info.ordinal = config.ordinal.value_or(-1);
  info.pod = config.pod_name;
  info.set = config.peer_host_template;
  info.node_id = node_id;
  info.node_fresh = node_fresh;
  info.k8s_node = config.node_name;
  info.zone = config.zone;
  return info;
}

std::string peerInfo(const config::Config& config, const state::StateView& view) {
  std::string id = view.local ? view.local->myId() : std::string();
  return cluster::renderAgentInfo(selfInfo(config, id, view.node_fresh));
}

// The agent of the node at `ip`, for the layout keeper: from the pool's last round when it
// asked that pod's agent at this very address, else asked now (with a deadline).
std::optional<layout::PeerAnswer> ClusterDriver::askPeer(const std::string& ip) const {
  std::optional<cluster::AgentInfo> info;
  for (const auto& p : peers_.last()) {
    if (!p.stale && p.ip == ip && p.agent) info = p.agent;
  }
  if (!info) info = cluster::askAgent(ip, config_.http.port, kPeerInfoTimeoutMs, ip);
  if (!info) return std::nullopt;
  return layout::PeerAnswer{info->node_id, {info->ordinal, info->pod, placeOf(*info)}};
}

ClusterDriver::ClusterDriver(const config::Config& config, cluster::PeerPool& peers,
                             Activity& activity)
    : config_(config),
      peers_(peers),
      boost_(statefile::pathBeside(config.nodes_conf, statefile::kTimeoutBoost), peers, activity),
      creator_(
          creatorOptions(config, peers.workers()), peers, boost_,
          [](const cluster::PeerProbe& pod) -> std::optional<cluster::Placement> {
            if (!pod.agent) return std::nullopt;
            return placeOf(*pod.agent);
          },
          activity),
      healer_(healerOptions(config), peers, activity),
      attention_(attentionOptions(config), systemClock()),
      keeper_(
          keeperOptions(config), peers, [this](const std::string& ip) { return askPeer(ip); },
          activity) {}

bool ClusterDriver::creating() const {
  return acts() && config_.ordinal == 0 && creator_.phase() != cluster::CreatePhase::Done;
}

void ClusterDriver::lookAgain(const std::string& why) {
  attention_.lookAtEverything(why);
}

// A creation in progress is resumed by the creator itself; but when some pod stays silent the
// creator waits for it, and the healer of a node that is already in a formed cluster must not
// wait with it.
void ClusterDriver::stopWaitingIfMember(const cluster::Snapshot& local) {
  const auto* me = local.myself();
  bool member =
      me != nullptr && local.knownNodes() > 1 && local.slotsAssigned() == nodes_conf::kSlotCount;
  if (!creating() || !member || creator_.phase() != cluster::CreatePhase::WaitingForPeers) {
    waiting_since_ms_ = 0;
    return;
  }
  if (waiting_since_ms_ == 0) waiting_since_ms_ = monotonicMs();
  if (monotonicMs() - waiting_since_ms_ > kCreatorPatienceMs) {
    creator_.finish("this node already belongs to a formed cluster and a pod stays silent");
  }
}

void ClusterDriver::reportConflicts() {
  auto now = cluster::identityConflicts(peers_.last(), config_.ordinal.value_or(0),
                                        config_.peer_host_template);
  for (const auto& c : now) {
    if (std::find(conflicts_.begin(), conflicts_.end(), c) == conflicts_.end()) {
      kLog.warn("A pod's name leads to another pod; nothing is learned from it", {{"found", c}});
    }
  }
  conflicts_ = std::move(now);
}

// The round the attention model asks for: every name on a sweep, then the pods it looks at.
// The own pod is never probed through its name: the local snapshot stands for it.
void ClusterDriver::look(const cluster::Snapshot& local, const nodes_conf::OrdinalMap& ordinals,
                         bool node_fresh) {
  using Depth = cluster::Pods::Depth;
  if (attention_.sweepDue()) {
    attention_.noteSweep(peers_.probe({{}, Depth::Resolve, false, kProbeBudgetMs}));
  }
  std::string want_all = boost_.pending() && acts() ? "the node-timeout boost is being undone" : "";
  auto focus = attention_.plan(local, ordinals, peers_.last(), want_all);
  full_round_ = false;
  if (focus.ordinals.empty()) {
    peers_.idle();
  } else {
    const auto& probes = peers_.probe({focus.ordinals, Depth::Snapshot, true, kProbeBudgetMs});
    attention_.noteRound(focus, probes);
    full_round_ =
        focus.all && std::none_of(focus.ordinals.begin(), focus.ordinals.end(),
                                  [&](int o) { return probes[static_cast<size_t>(o)].stale; });
  }
  cluster::AgentInfo self = selfInfo(config_, local.myId(), node_fresh);
  self.ordinal = config_.ordinal.value_or(0);
  std::string ip = !config_.pod_ip.empty() ? config_.pod_ip : local.myself()->address.host;
  peers_.setOwn(self.ordinal, ip, local, self);
  reportConflicts();
}

// Slots stranded on gone pods (a scale-in before draining): said once when found or changed,
// and once when they are served again. Observed in both modes; nothing is sent for them.
void ClusterDriver::noteStranded(const cluster::Snapshot& local,
                                 const nodes_conf::OrdinalMap& ordinals) {
  if (!local.nodes) return;
  auto now = cluster::findStranded({&*local.nodes, &peers_.last(), &ordinals, config_.cluster_nodes,
                                    config_.peer_host_template});
  for (const auto& s : now) {
    bool known = std::any_of(stranded_.begin(), stranded_.end(), [&](const auto& o) {
      return o.node_id == s.node_id && o.slots == s.slots && o.gone == s.gone;
    });
    if (known) continue;
    kLog.error("Slots are stranded on a gone pod", {{"pod", s.pod.empty() ? "unknown" : s.pod},
                                                    {"node", text::shortId(s.node_id)},
                                                    {"slots", s.slotCount()},
                                                    {"scaleTo", s.scale_to},
                                                    {"reason", cluster::describeStranded(s)}});
  }
  if (now.empty() && !stranded_.empty()) {
    kLog.info("No slots are stranded on gone pods any more",
              {{"was", cluster::strandedSlots(stranded_)}});
  }
  stranded_ = std::move(now);
}

// How far the slots are from the shape (layout/reshape.h): said when a scale's moves begin
// and when they are done; the numbers go to /metrics. Observed only: the `scale` verb moves.
void ClusterDriver::noteReshape(const cluster::Snapshot& local,
                                const nodes_conf::OrdinalMap& ordinals) {
  if (!local.nodes) return;
  auto now = layout::assessReshape(
      {&*local.nodes, &ordinals, config_.cluster_nodes, config_.cluster_replicas});
  if (!now.known) return;  // keep the last numbers until every owner's pod is known
  int before = reshape_.slots_to_move;
  reshape_ = now;
  reshape_progress_.update(now.slots_to_move, monotonicMs());
  if (before == 0 && now.slots_to_move > 0) {
    kLog.info("Slots are not where the cluster's shape wants them (a scale is due or running)",
              {{"slotsToMove", now.slots_to_move},
               {"leavingSlots", now.leaving_slots},
               {"targetMasters", now.target_masters},
               {"mastersWithSlots", now.masters_with_slots}});
  } else if (before > 0 && now.slots_to_move == 0) {
    kLog.info("Every master of the shape owns its share of the slots",
              {{"targetMasters", now.target_masters}});
  }
}

int64_t ClusterDriver::observeAndCreate(LocalRedis& local, const nodes_conf::OrdinalMap& ordinals,
                                        bool node_fresh) {
  stopWaitingIfMember(*local.snapshot());
  int64_t sleep_ms = std::numeric_limits<int64_t>::max();
  if (creating()) {
    sleep_ms = creator_.step();
    full_round_ = true;
  } else {
    look(*local.snapshot(), ordinals, node_fresh);
    noteStranded(*local.snapshot(), ordinals);
    noteReshape(*local.snapshot(), ordinals);
    sleep_ms = std::max(attention_.msUntilDue(), ClusterDriver::kAttentionPollMs / 4);
  }
  // After a crash of this agent the record is all that remembers the configured value.
  if (boost_.pending() && acts()) {
    boost_.restore(peers_.last(), creating());
    // Read at connect time, the value may have been the creator's short one.
    if (!boost_.pending()) readNodeTimeout(local);
  }
  return sleep_ms;
}

int64_t ClusterDriver::heal(LocalRedis& local, const nodes_conf::OrdinalMap& ordinals) {
  if (creating() || !acts()) return config_.poll_interval_ms;
  bool busy = healer_.step(*local.snapshot(), ordinals, full_round_);
  return busy ? kAttentionPollMs : config_.poll_interval_ms;
}

int64_t ClusterDriver::keepLayout(LocalRedis& local, bool leaving) {
  bool moving = keeper_.step(*local.snapshot(), !creating() && !leaving);
  return moving ? kAttentionPollMs : config_.poll_interval_ms;
}

void ClusterDriver::readNodeTimeout(LocalRedis& local) {
  if (auto ms = local.nodeTimeoutMs()) {
    healer_.setNodeTimeout(*ms);
    keeper_.setNodeTimeout(*ms);
  }
}

void ClusterDriver::describe(state::StateView& view, const nodes_conf::OrdinalMap& ordinals) const {
  view.creator_active = creating();
  view.create_phase = creator_.phase();
  view.healing = healer_.phase() != cluster::HealPhase::Idle;
  view.unexpected_nodes = static_cast<int64_t>(healer_.unexpected().size());
  view.stranded = stranded_;
  view.reshape = {config_.cluster_nodes, config_.cluster_replicas, reshape_,
                  reshape_progress_.last()};
  view.layout = keeper_.report();
  view.nodes_refused = static_cast<int64_t>(healer_.refused().size());
  view.identity_conflicts = static_cast<int64_t>(conflicts_.size());
  view.peers_watched = attention_.watched();
  view.dns_lookups = peers_.dnsLookups();
  view.peer_probes = peers_.redisProbes();
  int64_t reachable = 0;
  if (view.local && view.local->nodes) {
    for (int k = 0; k < config_.cluster_nodes; ++k) {
      auto id = ordinals.idOf(k);
      const auto* n = id ? view.local->nodes->find(*id) : nullptr;
      reachable += n != nullptr && cluster::reachable(*n) ? 1 : 0;
    }
  }
  view.peers_answering = reachable;
}

}  // namespace agent::app
