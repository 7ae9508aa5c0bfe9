// SPDX-License-Identifier: Apache-2.0
#include "app/cluster_driver.h"

#include <fmt/format.h>
#include <algorithm>
#include <limits>

#include "common/clock.h"
#include "common/log.h"
#include "common/text.h"
#include "http/server.h"
#include "statefile/statefile.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

// While the cluster needs attention the loop polls this often, so a pod back on a new IP is
// met within a fraction of node-timeout.
constexpr int64_t kAttentionPollMs = 200;
// Each pass waits at most this long for peers; a silent pod keeps its previous probe.
constexpr int64_t kProbeBudgetMs = 300;
// How long ordinal 0, already in a formed cluster, lets its creator wait for a silent pod.
constexpr int64_t kCreatorPatienceMs = 10000;
// How long the creator waits for a peer's /peerinfo.
constexpr int64_t kPeerInfoTimeoutMs = 300;
// The healer's node-timeout until the local Redis tells its own (Redis' default).
constexpr int64_t kDefaultNodeTimeoutMs = 15000;

cluster::CreatorOptions creatorOptions(const config::Config& c) {
  return {c.cluster_nodes, c.cluster_replicas, c.node_name, c.zone, c.crash_after};
}

cluster::HealerOptions healerOptions(const config::Config& c) {
  return {c.ordinal.value_or(0), c.cluster_nodes, c.redis.port, kDefaultNodeTimeoutMs};
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

std::optional<layout::PeerAnswer> askPeer(const std::string& ip, int http_port) {
  auto info = fetchPeerInfo(ip, http_port, kPeerInfoTimeoutMs);
  if (!info) return std::nullopt;
  return layout::PeerAnswer{info->node_id, {info->ordinal, info->pod, info->place}};
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

std::optional<PeerInfo> fetchPeerInfo(const std::string& ip, int http_port, int64_t timeout_ms) {
  auto body = http::fetch(ip, http_port, "/peerinfo", timeout_ms);
  if (!body) {
    kLog.debug("No peer info", {{"address", ip}, {"err", body.error().message}});
    return std::nullopt;
  }
  PeerInfo out;
  bool named = false;
  for (auto& [key, value] : text::parseInfoFields(*body)) {
    if (key == "nodeName") {
      out.place.k8s_node = value;
      named = true;
    } else if (key == "zone") {
      out.place.zone = value;
    } else if (key == "ordinal") {
      out.ordinal = static_cast<int>(text::parseInt(value).value_or(-1));
    } else if (key == "podName") {
      out.pod = value;
    } else if (key == "nodeId") {
      out.node_id = value;
    }
  }
  if (!named) return std::nullopt;
  return out;
}

std::string peerInfo(const config::Config& config, const std::string& node_id) {
  return fmt::format("nodeName:{}\nordinal:{}\nzone:{}\npodName:{}\nnodeId:{}\n", config.node_name,
                     config.ordinal.value_or(-1), config.zone, config.pod_name, node_id);
}

ClusterDriver::ClusterDriver(const config::Config& config, cluster::PeerPool& peers,
                             Activity& activity)
    : config_(config),
      peers_(peers),
      boost_(statefile::pathBeside(config.nodes_conf, statefile::kTimeoutBoost), peers, activity),
      creator_(
          creatorOptions(config), peers, boost_,
          [&config](const cluster::PeerProbe& pod) -> std::optional<cluster::Placement> {
            auto info = fetchPeerInfo(pod.ip, config.http.port, kPeerInfoTimeoutMs);
            if (!info) return std::nullopt;
            return info->place;
          },
          activity),
      healer_(healerOptions(config), peers, activity),
      keeper_(
          keeperOptions(config), peers,
          [&config](const std::string& ip) { return askPeer(ip, config.http.port); }, activity) {}

bool ClusterDriver::creating() const {
  return acts() && config_.ordinal == 0 && creator_.phase() != cluster::CreatePhase::Done;
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

int64_t ClusterDriver::observeAndCreate(LocalRedis& local) {
  stopWaitingIfMember(*local.snapshot());
  int64_t sleep_ms = std::numeric_limits<int64_t>::max();
  if (creating()) {
    sleep_ms = creator_.step();
  } else {
    peers_.probeAll(cluster::PeerPool::Depth::Snapshot, kProbeBudgetMs);
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
  bool attention = healer_.step(*local.snapshot(), ordinals);
  return attention ? kAttentionPollMs : config_.poll_interval_ms;
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

void ClusterDriver::describe(state::StateView& view) const {
  view.creator_active = creating();
  view.create_phase = creator_.phase();
  view.healing = healer_.phase() != cluster::HealPhase::Idle;
  view.unexpected_nodes = static_cast<int64_t>(healer_.unexpected().size());
  view.layout = keeper_.report();
}

}  // namespace agent::app
