// SPDX-License-Identifier: Apache-2.0
#include "app/agent.h"

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <thread>

#include "app/endpoints.h"
#include "cluster/commands.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/text.h"
#include "control/install.h"
#include "handover/handover.h"
#include "probes/lifecycle.h"
#include "statefile/statefile.h"
#include "version.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");
const log::Logger kHandoverLog("handover");

constexpr int64_t kFastPollMs = 100;
// While the cluster needs attention the loop polls this often, so a pod back on a new IP is
// met within a fraction of node-timeout.
constexpr int64_t kAttentionPollMs = 200;
// Each pass waits at most this long for peers; a silent pod keeps its previous probe.
constexpr int64_t kProbeBudgetMs = 300;
// How long ordinal 0, already in a formed cluster, lets its creator wait for a silent pod.
constexpr int64_t kCreatorPatienceMs = 10000;
// After SIGTERM, how long a master's agent keeps the control socket open for a handover that
// has not arrived yet (classic sidecar: the preStop of the redis container starts at about the
// same time as this container's SIGTERM).
constexpr int64_t kStopLingerMs = 5000;
// Bounds on the budget a client may ask for.
constexpr int64_t kMinHandoverMs = 1000;
constexpr int64_t kMaxHandoverMs = 300000;

control::LineKind lineKind(handover::Outcome::Kind kind) {
  switch (kind) {
    case handover::Outcome::Kind::HandedOver: return control::LineKind::Done;
    case handover::Outcome::Kind::Skipped: return control::LineKind::Skipped;
    case handover::Outcome::Kind::Failed: return control::LineKind::Failed;
  }
  return control::LineKind::Failed;
}
// Wakes never bring two passes closer than this: Redis rewrites nodes.conf several times in a
// row while the cluster changes, and one pass sees all of it.
constexpr int64_t kMinPassGapMs = 50;

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

metrics::Identity metricsIdentity(const config::Config& c) {
  return {kVersion,        kRevision,          c.ordinal,
          c.cluster_nodes, c.cluster_replicas, c.mode == config::Mode::Observe,
          wallMs()};
}

// Observe mode is enforced where commands are sent, not only by skipping the modules that act:
// every connection the agent opens then refuses anything but read-only commands.
redis::ConnectOptions connectOptions(const config::Config& c, std::optional<std::string> pw) {
  return {c.redis_timeout_ms, c.redis_timeout_ms, std::move(pw), c.mode == config::Mode::Observe};
}

}  // namespace

Agent::Agent(const config::Config& config, peers::Resolver& resolver,
             std::optional<std::string> password)
    : config_(config),
      exporter_(metricsIdentity(config)),
      connect_(connectOptions(config, std::move(password))),
      peers_(poolOptions(config, connect_), resolver, config.peerHosts()),
      boost_(statefile::pathBeside(config.nodes_conf, statefile::kTimeoutBoost), peers_, activity_),
      creator_(
          creatorOptions(config), peers_, boost_,
          [this](const cluster::PeerProbe& pod) {
            return fetchK8sNode(pod, config_.http.port, 300);
          },
          activity_),
      healer_({config.ordinal.value_or(0), config.cluster_nodes, config.redis.port, 15000}, peers_,
              activity_),
      previous_ids_(static_cast<size_t>(config.cluster_nodes)) {
  peers_.setLocal([this] { return local_ ? &*local_ : nullptr; });
  auto text = files::read(statefile::pathBeside(config_.nodes_conf, statefile::kOrdinalMap));
  if (text) {
    if (auto map = nodes_conf::OrdinalMap::parse(*text)) ordinals_ = std::move(*map);
  }
}

void Agent::lostLocal(const Error& err) {
  local_error_ = err.message;
  local_timed_out_ = err.code == Errc::Timeout;
  snapshot_.reset();
  if (local_was_up_) activity_.errors.add("redis_unreachable");
  local_was_up_ = false;
}

bool Agent::observeLocal() {
  if (local_ && !local_->healthy()) local_.reset();
  if (!local_) {
    auto conn = redis::Connection::open({config_.redis.host, config_.redis.port}, connect_);
    if (!conn) {
      lostLocal(conn.error());
      return false;
    }
    local_.emplace(std::move(*conn));
    kLog.info("Connected to the local Redis", {{"address", config_.redis.str()}});
    readNodeTimeout();
  }
  auto snap = cluster::takeSnapshot(*local_);
  if (!snap) {
    lostLocal(snap.error());
    return false;
  }
  local_error_.clear();
  local_timed_out_ = false;
  local_was_up_ = true;
  snapshot_ = std::move(*snap);
  return true;
}

// Only CONFIG GET reveals node-timeout; it bounds how often a forced failover is retried.
void Agent::readNodeTimeout() {
  if (auto ms = cluster::readNodeTimeout(*local_)) {
    node_timeout_ms_ = *ms;
    healer_.setNodeTimeout(node_timeout_ms_);
  }
}

// Replicas: their master's replication offset, for the lag metric. One INFO on the pool's
// connection to the master's pod, only when the last probe reached it.
void Agent::readMasterOffset() {
  master_offset_.reset();
  if (!snapshot_ || !snapshot_->isReplica() || snapshot_->myself() == nullptr) return;
  for (const auto& p : peers_.last()) {
    if (!p.answering() || p.node_id != snapshot_->myself()->master_id) continue;
    auto reply = peers_.command(p.ordinal, {"INFO", "replication"});
    if (reply && reply->type != redis::Reply::Type::Array) {
      master_offset_ = redis::InfoFields::parse(reply->str).integer("master_repl_offset");
    }
    return;
  }
}

void Agent::onFileChanged(const std::string& name) {
  if (name == statefile::kPrepareStats) {
    record_changed_ = true;
  } else {
    ++nodes_conf_changes_;
  }
  if (stop_ != nullptr) stop_->wake();
}

// The directory of nodes.conf exists before Redis starts (it is the data volume), but is
// watched from the loop so a watcher that failed, or lost its directory, comes back.
void Agent::ensureWatcher() {
  if (watcher_ && watcher_->active()) return;
  std::string dir = files::dirName(config_.nodes_conf);
  auto w = watch::DirWatcher::start(
      dir, {files::baseName(config_.nodes_conf), std::string(statefile::kPrepareStats)},
      [this](const std::string& name) { onFileChanged(name); });
  if (!w) {
    if (!watch_failed_) {
      kLog.warn("Cannot watch nodes.conf; relying on polling",
                {{"dir", dir}, {"err", w.error().message}});
      activity_.errors.add("nodes_conf_watch");
    }
    watch_failed_ = true;
    watcher_.reset();
    return;
  }
  if (watch_failed_) kLog.info("Watching nodes.conf again", {{"dir", dir}});
  watch_failed_ = false;
  watcher_ = std::move(*w);
  record_changed_ = true;  // it may have changed while nobody watched
}

void Agent::saveOrdinalMap() {
  std::string path = statefile::pathBeside(config_.nodes_conf, statefile::kOrdinalMap);
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
  if (changed ||
      !files::exists(statefile::pathBeside(config_.nodes_conf, statefile::kOrdinalMap))) {
    saveOrdinalMap();
  }
}

bool Agent::creating() const {
  return config_.mode == config::Mode::Act && config_.ordinal == 0 &&
         creator_.phase() != cluster::CreatePhase::Done;
}

std::string Agent::peerInfo() const {
  return fmt::format("nodeName:{}\nordinal:{}\n", config_.node_name, config_.ordinal.value_or(-1));
}

namespace {

Phase phaseOf(const StateView& v, bool joined) {
  if (v.stopping) return Phase::Stopping;
  if (v.passes == 0) return Phase::Starting;
  if (!v.redis_reachable) return Phase::WaitingForRedis;
  if (v.local->loading || !v.local->nodes) return Phase::Loading;
  if (v.creator_active && v.create_phase == cluster::CreatePhase::Blocked) return Phase::Blocked;
  if (v.creator_active || !joined) return Phase::Bootstrapping;
  if (v.healing) return Phase::Healing;
  return Phase::Running;
}

}  // namespace

// Readiness passes through the gate once per loop pass, so its hysteresis counts passes of the
// loop, not requests of whoever probes.
void Agent::fillProbes(StateView& view) {
  probes::Observation obs{snapshot_ ? &*snapshot_ : nullptr, local_error_, local_timed_out_};
  if (passes_ == 0) obs.error = "not checked yet";
  auto instant = probes::readinessChecks(obs);
  bool joined = std::any_of(instant.begin(), instant.end(), [](const probes::Check& c) {
    return c.name == "cluster-joined" && c.ok;
  });
  view.readiness = passes_ == 0 ? instant : gate_.update(instant, view.updated_ms);
  view.phase = phaseOf(view, joined);
}

void Agent::publish(int64_t pass_ms, bool stopping) {
  auto view = std::make_shared<StateView>();
  view->stopping = stopping;
  view->started_ms = started_ms_;
  view->updated_ms = monotonicMs();
  view->updated_unix_ms = wallMs();
  view->passes = passes_;
  view->pass_ms = pass_ms;
  view->redis_reachable = snapshot_.has_value();
  view->redis_error = local_error_;
  view->redis_timed_out = local_timed_out_;
  view->local = snapshot_;
  view->peers = peers_.last();
  view->creator_active = creating();
  view->create_phase = creator_.phase();
  view->stopping = view->stopping || stopping_;
  view->healing = healer_.phase() != cluster::HealPhase::Idle;
  view->unexpected_nodes = static_cast<int64_t>(healer_.unexpected().size());
  view->master_repl_offset = master_offset_;
  view->actions = activity_.actions.values();
  view->errors = activity_.errors.values();
  bool watching = watcher_ && watcher_->active();
  if (record_changed_.exchange(false) || !watching) {
    prepare_record_ = prepare::loadRecord(config_.nodes_conf);
  }
  view->prepare = prepare_record_;
  view->nodes_conf_changes = nodes_conf_changes_.load();
  view->watching = watching;
  fillProbes(*view);
  state_.publish(std::move(view));
}

bool Agent::sleep(StopSignal& stop, int64_t ms) {
  int64_t quiet = std::min(ms, kMinPassGapMs);
  if (stop.waitFor(quiet, /*wakeable=*/false)) return true;
  return stop.waitFor(ms - quiet);
}

int64_t Agent::tick() {
  ensureWatcher();
  if (!observeLocal()) {
    kLog.debug("Local Redis not answering", {{"err", local_error_}});
    return kFastPollMs;
  }
  if (snapshot_->loading) return kFastPollMs;
  int64_t sleep_ms = config_.poll_interval_ms;
  const auto* me = snapshot_->myself();
  bool member = me != nullptr && snapshot_->knownNodes() > 1 &&
                snapshot_->slotsAssigned() == nodes_conf::kSlotCount;
  // A creation in progress is resumed by the creator itself; but when some pod stays silent
  // the creator waits for it, and the healer of a node that is already in a formed cluster
  // must not wait with it.
  if (creating() && member && creator_.phase() == cluster::CreatePhase::WaitingForPeers) {
    if (waiting_since_ms_ == 0) waiting_since_ms_ = monotonicMs();
    if (monotonicMs() - waiting_since_ms_ > kCreatorPatienceMs) {
      creator_.finish("this node already belongs to a formed cluster and a pod stays silent");
    }
  } else {
    waiting_since_ms_ = 0;
  }
  if (creating()) {
    sleep_ms = std::min(sleep_ms, creator_.step());
  } else {
    peers_.probeAll(cluster::PeerPool::Depth::Snapshot, kProbeBudgetMs);
  }
  // After a crash of this agent the record is all that remembers the configured value.
  if (boost_.pending() && config_.mode == config::Mode::Act) {
    boost_.restore(peers_.last(), creating());
    // Read at connect time, the value may have been the creator's short one.
    if (!boost_.pending()) readNodeTimeout();
  }
  readMasterOffset();
  learnOrdinals(peers_.last());
  if (!creating() && config_.mode == config::Mode::Act) sleep_ms = std::min(sleep_ms, heal());
  return sleep_ms;
}

int64_t Agent::heal() {
  bool attention = healer_.step(*snapshot_, ordinals_);
  return attention ? kAttentionPollMs : config_.poll_interval_ms;
}

void Agent::startControl() {
  auto installed = control::installClient(config_.runtime_dir);
  if (installed) {
    kLog.info("Installed the handover client", {{"path", *installed}});
  } else {
    activity_.errors.add("handover_client_install");
    kLog.warn("Could not install the handover client; a preStop must bring its own",
              {{"err", installed.error().message}});
  }
  auto server = control::Server::start(
      config_.socketPath(),
      [this](const control::Request& r, const control::Emit& e) { return handleHandover(r, e); });
  if (!server) {
    activity_.errors.add("control_socket");
    kLog.error("Cannot open the control socket; handovers are impossible",
               {{"path", config_.socketPath()}, {"err", server.error().message}});
    return;
  }
  control_ = std::move(*server);
  kLog.info("Listening for handovers", {{"socket", config_.socketPath()}});
}

control::Line Agent::handleHandover(const control::Request& request, const control::Emit& emit) {
  if (config_.mode == config::Mode::Observe) {
    kHandoverLog.info("Handover skipped: observe mode");
    return {control::LineKind::Skipped, "the agent runs in observe mode and never fails over"};
  }
  handover::Options options;
  options.local_host = config_.redis.host;
  options.local_port = config_.redis.port;
  options.timeout_ms = std::clamp(request.timeout_ms, kMinHandoverMs, kMaxHandoverMs);
  auto env = handover::redisEnvironment(connect_);
  auto outcome = handover::run(*env, options, [&](const std::string& step) {
    kHandoverLog.info("Handover step", {{"step", step}});
    emit(step);
  });
  log::Fields fields = {{"result", control::lineKindName(lineKind(outcome.kind))},
                        {"elapsedMs", outcome.elapsed_ms},
                        {"forced", outcome.forced},
                        {"detail", outcome.message}};
  if (outcome.kind == handover::Outcome::Kind::HandedOver) {
    activity_.actions.add(outcome.forced ? "failover_force" : "failover");
    kHandoverLog.info("Handover finished", fields);
  } else if (outcome.kind == handover::Outcome::Kind::Failed) {
    activity_.errors.add("handover_failed");
    kHandoverLog.warn("Handover failed; Redis will stop as the master", fields);
  } else {
    kHandoverLog.info("Handover not needed", fields);
  }
  return {lineKind(outcome.kind), outcome.message};
}

bool Agent::localIsMasterWithSlots() {
  if (!observeLocal() || !snapshot_->myself()) return false;
  return snapshot_->myself()->isMaster() && !snapshot_->myself()->slots.empty();
}

// Classic sidecar mode: this container's SIGTERM and the redis container's preStop come at
// about the same time, in any order. A handover in progress is finished; while the local Redis
// is still a master with slots, one that has not arrived yet gets kStopLingerMs. As a native
// sidecar the agent is stopped after Redis has exited, and this returns at once.
void Agent::lingerForHandover() {
  if (!control_ || config_.mode == config::Mode::Observe) return;
  int64_t served = control_->served();
  int64_t deadline = monotonicMs() + kStopLingerMs;
  int64_t next_check = 0;
  bool announced = false;
  while (control_->busy() || control_->served() == served) {
    int64_t now = monotonicMs();
    if (!control_->busy() && now >= deadline) return;
    if (!control_->busy() && now >= next_check) {
      if (!localIsMasterWithSlots()) return;
      next_check = now + kFastPollMs;
    }
    if (!announced) {
      kLog.info("Waiting for a handover before stopping",
                {{"inProgress", control_->busy()}, {"maxWaitMs", kStopLingerMs}});
      announced = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Agent::run(StopSignal& stop) {
  started_ms_ = monotonicMs();
  stop_ = &stop;
  publish(0);
  kLog.info("Agent started", {{"pod", config_.pod_name},
                              {"ordinal", config_.ordinal.value_or(-1)},
                              {"redis", config_.redis.str()},
                              {"clusterNodes", config_.cluster_nodes},
                              {"mode", config_.mode == config::Mode::Act ? "act" : "observe"}});
  http_.get("/peerinfo", [this](const auto&) {
    return http::Response{200, "text/plain", peerInfo()};
  });
  serveProbes(http_, state_, exporter_, probes::livenessLimitMs(config_.poll_interval_ms));
  if (Status st = http_.start(config_.http.host, config_.http.port); !st) {
    kLog.error("Cannot start the HTTP listener", {{"err", st.error().message}});
    return 1;
  }
  startControl();
  while (!stop.requested()) {
    int64_t begin = monotonicMs();
    int64_t sleep_ms = tick();
    ++passes_;
    publish(monotonicMs() - begin);
    if (sleep(stop, sleep_ms)) break;
  }
  stopping_ = true;
  publish(0, /*stopping=*/true);
  lingerForHandover();
  control_.reset();
  watcher_.reset();
  http_.stop();
  stop_ = nullptr;
  kLog.info("Agent stopped");
  return 0;
}

}  // namespace agent::app
