// SPDX-License-Identifier: Apache-2.0
#include "app/agent.h"

#include <algorithm>

#include "app/endpoints.h"
#include "common/clock.h"
#include "common/log.h"
#include "config/clients.h"
#include "probes/lifecycle.h"
#include "version.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

// How soon to look again while the local Redis does not answer or loads its dataset.
constexpr int64_t kFastPollMs = 100;
// Wakes never bring two passes closer than this: Redis rewrites nodes.conf several times in a
// row while the cluster changes, and one pass sees all of it.
constexpr int64_t kMinPassGapMs = 50;

metrics::Identity metricsIdentity(const config::Config& c) {
  return {kVersion,        kRevision,          c.ordinal,
          c.cluster_nodes, c.cluster_replicas, c.mode == config::Mode::Observe,
          wallMs()};
}

redis::ConnectOptions withCredentials(redis::ConnectOptions options,
                                      std::shared_ptr<const redis::Credentials> credentials) {
  options.credentials = std::move(credentials);
  return options;
}

cluster::PeerPoolOptions withCredentials(cluster::PeerPoolOptions options,
                                         std::shared_ptr<const redis::Credentials> credentials) {
  options.connect.credentials = std::move(credentials);
  return options;
}

// Sleeps `ms`, of which the first kMinPassGapMs cannot be cut short by a wake. True on stop.
bool sleepBetweenPasses(StopSignal& stop, int64_t ms) {
  int64_t quiet = std::min(ms, kMinPassGapMs);
  if (stop.waitFor(quiet, /*wakeable=*/false)) return true;
  return stop.waitFor(ms - quiet);
}

}  // namespace

Agent::Agent(const config::Config& config, peers::Resolver& resolver,
             std::optional<std::string> password)
    : config_(config),
      exporter_(metricsIdentity(config)),
      rotation_(config, password, activity_),
      password_(password),
      resolver_(resolver),
      shape_(config.shape_file, config::shapeOf(config)),
      shaped_(config),
      local_({config.redis.host, config.redis.port},
             withCredentials(config::redisOptions(config, password), rotation_.credentials()),
             activity_,
             [this] {
               driver_->readNodeTimeout(local_);
               driver_->lookAgain("the local Redis was (re)connected");
             }),
      gate_(activity_),
      learner_(config.nodes_conf, config.ordinal, config.peer_host_template),
      master_(withCredentials(config::redisOptions(config, password), rotation_.credentials())),
      handover_(config,
                withCredentials(config::redisOptions(config, password), rotation_.credentials()),
                activity_),
      certs_(config, activity_),
      watch_(config.nodes_conf, activity_) {
  buildCluster(false);
}

void Agent::buildCluster(bool created) {
  driver_.reset();  // it refers to the pool
  peers_ = std::make_unique<cluster::PeerPool>(
      withCredentials(config::peerPoolOptions(shaped_, password_), rotation_.credentials()),
      resolver_, shaped_.peerHosts());
  peers_->setLocal([this] { return local_.connectionOrNull(); });
  driver_ = std::make_unique<ClusterDriver>(shaped_, *peers_, activity_);
  if (created) driver_->creationOver("the cluster was created before its shape changed");
}

void Agent::followShape() {
  if (auto shape = shape_.poll()) pending_shape_ = shape;
  if (!pending_shape_ || driver_->creating()) return;
  config::applyShape(shaped_, *pending_shape_);
  pending_shape_.reset();
  buildCluster(true);
  driver_->readNodeTimeout(local_);
  driver_->lookAgain("the cluster's shape changed");
  kLog.info("Now following the new shape", {{"clusterNodes", shaped_.cluster_nodes},
                                            {"clusterReplicas", shaped_.cluster_replicas}});
}

int64_t Agent::tick() {
  watch_.ensure();
  if (!local_.observe()) {
    kLog.debug("Local Redis not answering", {{"err", local_.error()}});
    return kFastPollMs;
  }
  if (!gate_.allows(*local_.snapshot())) return config_.poll_interval_ms;
  certs_.ensure();
  certs_.apply(local_.connectionOrNull());
  if (local_.snapshot()->loading) return kFastPollMs;
  learner_.noteLocal(*local_.snapshot());
  followShape();
  int64_t sleep_ms =
      std::min(config_.poll_interval_ms,
               driver_->observeAndCreate(local_, learner_.map(), learner_.nodeFresh()));
  master_offset_ = master_.offset(local_.snapshot());
  learner_.learn(peers_->last());
  sleep_ms = std::min(sleep_ms, driver_->heal(local_, learner_.map()));
  sleep_ms = std::min(sleep_ms, driver_->keepLayout(local_, handover_.asked()));
  return std::min(sleep_ms, rotation_.step(local_, *peers_));
}

void Agent::publish(int64_t pass_ms) {
  auto view = std::make_shared<state::StateView>();
  view->stopping = stopping_;
  view->started_ms = started_ms_;
  view->passes = passes_;
  view->pass_ms = pass_ms;
  local_.describe(*view);
  gate_.describe(*view);
  view->node_fresh = learner_.nodeFresh();
  driver_->describe(*view, learner_.map());
  view->master_repl_offset = master_offset_;
  view->actions = activity_.actions.values();
  view->errors = activity_.errors.values();
  watch_.describe(*view);
  rotation_.describe(*view);
  certs_.describe(*view);
  publisher_.publish(std::move(view));
}

bool Agent::startHttp() {
  // The rotation's report comes from the published view: the handler never waits on the loop.
  http_.get("/peerinfo", [this](const http::Params&) {
    auto view = publisher_.store().get();
    return http::Response{200, "text/plain",
                          peerInfo(config_, *view) + auth::renderReport(view->rotation.report)};
  });
  serveProbes(http_, publisher_.store(), exporter_,
              probes::livenessLimitMs(config_.poll_interval_ms));
  http_.onRefusal([this](http::Refusal) { activity_.errors.add(ErrorKind::HttpRefused); });
  if (Status st = http_.start(config_.http.host, config_.http.port); !st) {
    kLog.error("Cannot start the HTTP listener", {{"err", st.error().message}});
    return false;
  }
  return true;
}

void Agent::shutDown() {
  stopping_ = true;
  publish(0);
  handover_.linger([this] { return local_.isMasterWithSlots(); });
  handover_.stop();
  watch_.stop();
  watch_.setWake(nullptr);
  rotation_.stop();
  rotation_.setWake(nullptr);
  certs_.stop();
  certs_.setWake(nullptr);
  shape_.stop();
  shape_.setWake(nullptr);
  http_.stop();
  kLog.info("Agent stopped");
}

int Agent::run(StopSignal& stop) {
  started_ms_ = monotonicMs();
  watch_.setWake(&stop);
  rotation_.setWake(&stop);
  certs_.setWake(&stop);
  shape_.setWake(&stop);
  publish(0);
  kLog.info("Agent started", {{"pod", config_.pod_name},
                              {"ordinal", config_.ordinal.value_or(-1)},
                              {"redis", config_.redis.str()},
                              {"clusterNodes", shaped_.cluster_nodes},
                              {"clusterReplicas", shaped_.cluster_replicas},
                              {"shapeFile", config_.shape_file},
                              {"mode", config_.mode == config::Mode::Act ? "act" : "observe"}});
  if (!startHttp()) return 1;
  handover_.start();
  while (!stop.requested()) {
    int64_t begin = monotonicMs();
    int64_t sleep_ms = tick();
    ++passes_;
    publish(monotonicMs() - begin);
    if (sleepBetweenPasses(stop, sleep_ms)) break;
  }
  shutDown();
  return 0;
}

}  // namespace agent::app
