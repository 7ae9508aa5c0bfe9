// SPDX-License-Identifier: Apache-2.0
#include "app/agent.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/text.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

constexpr int64_t kFastPollMs = 100;

cluster::PeerPoolOptions poolOptions(const config::Config& c, const redis::ConnectOptions& opts) {
  return {c.cluster_nodes, c.redis.port, c.pod_ip, opts};
}

// The Kubernetes node of a peer pod, as its agent reports it on the read-only listener.
std::string fetchK8sNode(const cluster::PeerProbe& pod, int http_port, int64_t timeout_ms) {
  auto body = http::fetch(pod.ip, http_port, "/peerinfo", timeout_ms);
  if (!body) {
    kLog.debug("No peer info", {{"pod", pod.pod()}, {"err", body.error().message}});
    return {};
  }
  for (auto& [key, value] : text::parseInfoFields(*body)) {
    if (key == "nodeName") return value;
  }
  return {};
}

cluster::CreatorOptions creatorOptions(const config::Config& c) {
  return {c.cluster_nodes, c.cluster_replicas, c.node_name, c.crash_after};
}

std::vector<std::string> peerNames(const config::Config& c) {
  std::vector<std::string> names;
  for (int i = 0; i < c.cluster_nodes; ++i) names.push_back(c.peerHost(i));
  return names;
}

}  // namespace

Agent::Agent(const config::Config& config, peers::Resolver& resolver,
             std::optional<std::string> password)
    : config_(config),
      connect_{config.redis_timeout_ms, config.redis_timeout_ms, std::move(password)},
      peers_(poolOptions(config, connect_), resolver, peerNames(config)),
      creator_(
          creatorOptions(config), peers_,
          [this](const cluster::PeerProbe& pod) {
            return fetchK8sNode(pod, config_.http.port, 300);
          },
          activity_),
      previous_ids_(static_cast<size_t>(config.cluster_nodes)) {
  auto text = files::read(nodes_conf::ordinalMapPath(config_.nodes_conf));
  if (text) {
    if (auto map = nodes_conf::OrdinalMap::parse(*text)) ordinals_ = std::move(*map);
  }
}

bool Agent::observeLocal() {
  if (local_ && !local_->healthy()) local_.reset();
  if (!local_) {
    auto conn = redis::Connection::open({config_.redis.host, config_.redis.port}, connect_);
    if (!conn) {
      local_error_ = conn.error().message;
      activity_.errors.add("redis_unreachable");
      snapshot_.reset();
      return false;
    }
    local_.emplace(std::move(*conn));
    kLog.info("Connected to the local Redis", {{"address", config_.redis.str()}});
  }
  auto snap = cluster::takeSnapshot(*local_);
  if (!snap) {
    local_error_ = snap.error().message;
    snapshot_.reset();
    return false;
  }
  local_error_.clear();
  snapshot_ = std::move(*snap);
  return true;
}

void Agent::saveOrdinalMap() {
  std::string path = nodes_conf::ordinalMapPath(config_.nodes_conf);
  if (Status st = files::writeAtomically(path, ordinals_.render()); !st) {
    kLog.warn("Could not save the ordinal map", {{"path", path}, {"err", st.error().message}});
  }
}

void Agent::learnOrdinals(const std::vector<cluster::PeerProbe>& probes) {
  bool changed = false;
  if (snapshot_ && snapshot_->nodes && config_.ordinal) {
    changed |= ordinals_.set(snapshot_->myId(), *config_.ordinal);
  }
  for (const auto& p : probes) {
    auto idx = static_cast<size_t>(p.ordinal);
    if (p.ordinal == config_.ordinal) continue;
    if (p.answering() && previous_ids_[idx] == p.node_id && ordinals_.set(p.node_id, p.ordinal)) {
      kLog.info("Learned which node runs in a pod",
                {{"pod", p.pod()}, {"ordinal", p.ordinal}, {"node", p.node_id}});
      changed = true;
    }
    previous_ids_[idx] = p.node_id;
  }
  // Also rewrite a map someone deleted: prepare needs it after the next restart.
  if (changed || !files::exists(nodes_conf::ordinalMapPath(config_.nodes_conf))) saveOrdinalMap();
}

bool Agent::creating() const {
  return config_.mode == config::Mode::Act && config_.ordinal == 0 &&
         creator_.phase() != cluster::CreatePhase::Done;
}

std::string Agent::peerInfo() const {
  return fmt::format("nodeName:{}\nordinal:{}\n", config_.node_name, config_.ordinal.value_or(-1));
}

void Agent::publish() {
  auto view = std::make_shared<StateView>();
  view->started_ms = started_ms_;
  view->updated_ms = monotonicMs();
  view->redis_reachable = snapshot_.has_value();
  view->redis_error = local_error_;
  view->local = snapshot_;
  view->peers = peers_.last();
  view->creator_active = creating();
  view->create_phase = creator_.phase();
  state_.publish(std::move(view));
}

int64_t Agent::tick() {
  if (!observeLocal()) {
    kLog.debug("Local Redis not answering", {{"err", local_error_}});
    return kFastPollMs;
  }
  if (snapshot_->loading) return kFastPollMs;
  int64_t sleep_ms = config_.poll_interval_ms;
  if (creating()) {
    sleep_ms = std::min(sleep_ms, creator_.step());
  } else {
    peers_.probeAll();
  }
  learnOrdinals(peers_.last());
  return sleep_ms;
}

int Agent::run(const StopSignal& stop) {
  started_ms_ = monotonicMs();
  kLog.info("Agent started", {{"pod", config_.pod_name},
                              {"ordinal", config_.ordinal.value_or(-1)},
                              {"redis", config_.redis.str()},
                              {"clusterNodes", config_.cluster_nodes},
                              {"mode", config_.mode == config::Mode::Act ? "act" : "observe"}});
  http_.get("/peerinfo", [this](const auto&) {
    return http::Response{200, "text/plain", peerInfo()};
  });
  if (Status st = http_.start(config_.http.host, config_.http.port); !st) {
    kLog.error("Cannot start the HTTP listener", {{"err", st.error().message}});
    return 1;
  }
  while (!stop.requested()) {
    int64_t sleep_ms = tick();
    publish();
    if (stop.waitFor(sleep_ms)) break;
  }
  http_.stop();
  kLog.info("Agent stopped");
  return 0;
}

}  // namespace agent::app
