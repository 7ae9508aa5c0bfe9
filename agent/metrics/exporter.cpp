// SPDX-License-Identifier: Apache-2.0
#include "metrics/exporter.h"

#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <fmt/format.h>
#include <utility>

#include "cluster/health.h"
#include "cluster/stranded.h"

namespace agent::metrics {

namespace pm = prometheus;

namespace {

constexpr const char* kPrefix = "redis_cluster_agent_";

using Labels = std::vector<std::pair<std::string, std::string>>;
using Samples = std::vector<std::pair<Labels, double>>;
using Families = std::vector<pm::MetricFamily>;

// HELP texts must stay plain one-line ASCII: prometheus-cpp 1.0 writes them unescaped.
void add(Families& out, pm::MetricType type, std::string_view name, std::string_view help,
         const Samples& samples) {
  pm::MetricFamily f{kPrefix + std::string(name), std::string(help), type, {}};
  for (const auto& [labels, value] : samples) {
    pm::ClientMetric m;
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    if (type == pm::MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
  }
  out.push_back(std::move(f));
}

void gauge(Families& out, std::string_view name, std::string_view help, double value) {
  add(out, pm::MetricType::Gauge, name, help, {{{}, value}});
}

double flag(bool b) {
  return b ? 1.0 : 0.0;
}

std::string compiler() {
#if defined(__clang__)
  return fmt::format("clang-{}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("gcc-{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

void fixedGauge(pm::Registry& r, const std::string& name, const std::string& help,
                const std::map<std::string, std::string>& labels, double value) {
  pm::BuildGauge().Name(kPrefix + name).Help(help).Register(r).Add(labels).Set(value);
}

// Every kind, at 0 when nothing happened yet: a series exists before its first event.
template <class Kind>
Samples counterSamples(const char* label, const CounterValues<Kind>& values) {
  Samples s;
  for (Kind k : allKinds<Kind>()) {
    s.push_back({{{label, std::string(kindName(k))}}, static_cast<double>(values[k])});
  }
  return s;
}

// Slots stranded on gone pods (cluster/stranded.h): the total always, one series per failed
// master while there are any (its pod's name, for the page that says which pods to bring back).
void strandedFamilies(const state::StateView& v, Families& out) {
  gauge(out, "stranded_slots",
        "Slots owned by failed masters whose pods are gone with no replica to take over (a "
        "scale-in before draining); served by nobody until the pods come back",
        cluster::strandedSlots(v.stranded));
  Samples per_master;
  for (const auto& s : v.stranded) {
    per_master.push_back(
        {{{"gone_pod", s.pod}, {"node_id", s.node_id}, {"scale_to", std::to_string(s.scale_to)}},
         static_cast<double>(s.slotCount())});
  }
  add(out, pm::MetricType::Gauge, "stranded_master_slots",
      "Per failed master of a gone pod: its stranded slots; scale_to is the StatefulSet size "
      "that brings its pods back",
      per_master);
}

// The shape this agent follows and how far the slots are from it (layout/reshape.h): what a
// scale in progress looks like from every pod, whoever runs it. Rate and ETA only while slots
// are moving (no series before the first slot of a scale has moved).
void reshapeFamilies(const state::StateView& v, Families& out) {
  const auto& r = v.reshape;
  gauge(out, "shape_nodes", "Pods in the shape the agent follows (--shape-file or --cluster-nodes)",
        r.shape_nodes);
  gauge(out, "shape_replicas", "Replicas per master in the shape the agent follows",
        r.shape_replicas);
  gauge(out, "shape_masters", "Masters (shards) the shape wants", r.now.target_masters);
  gauge(out, "scale_slots_to_move",
        "Slots to move before every master of the shape owns an even share and masters whose "
        "pods leave own none (0: the slots are in shape)",
        r.now.slots_to_move);
  gauge(out, "scale_slots_moved", "Slots moved since the current scale began (0 when none runs)",
        r.progress.moved);
  Samples rate;
  Samples eta;
  if (r.progress.eta_s) {
    rate.push_back({{}, r.progress.slots_per_second});
    eta.push_back({{}, static_cast<double>(*r.progress.eta_s)});
  }
  add(out, pm::MetricType::Gauge, "scale_slots_per_second",
      "Slots moved per second, on average since the current scale began", rate);
  add(out, pm::MetricType::Gauge, "scale_eta_seconds",
      "Seconds until the slots are in shape at the current scale's average rate", eta);
}

void agentFamilies(const state::StateView& v, Families& out) {
  gauge(out, "last_pass_timestamp_seconds",
        "When the agent's loop last finished a pass over the local Redis and the peers (unix time)",
        static_cast<double>(v.updated_unix_ms) / 1000.0);
  gauge(out, "pass_duration_seconds", "How long the agent's last loop pass took",
        static_cast<double>(v.pass_ms) / 1000.0);
  Samples phases;
  for (state::Phase p : state::kPhases)
    phases.push_back({{{"phase", state::phaseName(p)}}, flag(p == v.phase)});
  add(out, pm::MetricType::Gauge, "phase",
      "What the agent is busy with: 1 for the current phase, 0 for the others", phases);
  bool ready = !v.readiness.empty();
  Samples checks;
  for (const auto& c : v.readiness) {
    ready = ready && c.ok;
    checks.push_back({{{"check", c.name}}, flag(c.ok)});
  }
  gauge(out, "ready", "1 when every readiness check passes (what /readyz answers)", flag(ready));
  add(out, pm::MetricType::Gauge, "readiness_check",
      "Each readiness check of /readyz after hysteresis (1 = passing)", checks);
  gauge(out, "nodes_conf_watch_active",
        "1 when inotify watches the directory of nodes.conf; 0 = changes are seen by polling only",
        flag(v.watching));
  add(out, pm::MetricType::Counter, "nodes_conf_changes_total",
      "Changes to nodes.conf the watcher reported, each waking the loop early",
      {{{}, static_cast<double>(v.nodes_conf_changes)}});
  gauge(out, "peers_answering",
        "Pods of the StatefulSet whose node the local node sees linked and without a failure "
        "flag (this pod included)",
        static_cast<double>(v.peers_answering));
  gauge(out, "peers_watched",
        "Pods the agent looks at directly now because the local view shows them amiss (the "
        "others cost only the local view)",
        static_cast<double>(v.peers_watched));
  gauge(out, "peer_identity_conflicts",
        "Pods whose name, at their last look, led to another pod or StatefulSet (stale or "
        "foreign DNS); nothing is learned from them",
        static_cast<double>(v.identity_conflicts));
  gauge(out, "nodes_refused",
        "Nodes found at the pods' names that are not provably of this cluster, refused at the "
        "last pass (never met)",
        static_cast<double>(v.nodes_refused));
  add(out, pm::MetricType::Counter, "peer_dns_lookups_total",
      "Name lookups of peer pods the agent made", {{{}, static_cast<double>(v.dns_lookups)}});
  add(out, pm::MetricType::Counter, "peer_probes_total",
      "Probes of peer pods' Redis the agent made (a snapshot and its agent's answer each)",
      {{{}, static_cast<double>(v.peer_probes)}});
  strandedFamilies(v, out);
  reshapeFamilies(v, out);
  gauge(out, "unexpected_nodes",
        "Cluster nodes that are no pod of the StatefulSet (e.g. ordinals removed by a scale-in); "
        "reported, never forgotten",
        static_cast<double>(v.unexpected_nodes));
}

void activityFamilies(const state::StateView& v, Families& out) {
  auto actions = v.actions;
  actions[Action::NodesConfRewrite] += v.prepare.rewrites;
  add(out, pm::MetricType::Counter, "actions_total",
      "Cluster-changing commands the agent sent and nodes.conf rewrites prepare made, by action",
      counterSamples("action", actions));
  add(out, pm::MetricType::Counter, "errors_total", "Failures the agent met, by kind",
      counterSamples("kind", v.errors));
  add(out, pm::MetricType::Counter, "prepare_addresses_rewritten_total",
      "Node addresses prepare changed in nodes.conf, over the life of the data directory",
      {{{}, static_cast<double>(v.prepare.addresses_rewritten)}});
}

// Only with TLS on: each mounted certificate file's earliest expiry, for an alert well before it.
void tlsFamilies(const state::StateView& v, Families& out) {
  if (v.tls_certificates.empty()) return;
  Samples expiry;
  for (const auto& c : v.tls_certificates) {
    expiry.push_back({{{"file", c.file}}, static_cast<double>(c.not_after_unix)});
  }
  add(out, pm::MetricType::Gauge, "tls_certificate_expiry_timestamp_seconds",
      "When the first certificate in each mounted TLS file expires (unix time; 0 = unreadable); "
      "file=cert: the certificate of the agent and its Redis, file=ca: the trusted CAs",
      expiry);
}

void redisFamilies(const state::StateView& v, Families& out) {
  gauge(out, "redis_up", "1 when the local Redis answered the agent's last pass",
        flag(v.redis_reachable));
  if (v.server) {
    add(out, pm::MetricType::Gauge, "server_info",
        "The local server's name and version (INFO server); the value is always 1",
        {{{{"server", v.server->name}, {"version", v.server->version}}, 1}});
  }
  if (!v.local) return;
  const auto& info = v.local->info;
  gauge(out, "redis_loading", "1 while the local Redis loads its dataset", flag(v.local->loading));
  double perc = v.local->loading ? info.number("loading_loaded_perc").value_or(0) : 0;
  gauge(out, "redis_loading_progress_ratio",
        "Share of the dataset loaded so far (0 to 1); 0 when not loading", perc / 100.0);
  gauge(out, "redis_loading_eta_seconds",
        "Redis' estimate of the loading time left; 0 when not loading",
        v.local->loading ? static_cast<double>(info.integerOr("loading_eta_seconds", 0)) : 0);
}

void clusterInfoFamilies(const redis::InfoFields& ci, Families& out) {
  gauge(out, "cluster_state", "1 when this node reports cluster_state ok (CLUSTER INFO)",
        flag(ci.str("cluster_state") == "ok"));
  for (const char* what : {"assigned", "ok", "pfail", "fail"}) {
    std::string key = std::string("cluster_slots_") + what;
    gauge(out, key, fmt::format("Slots {} in this node's view (CLUSTER INFO {})", what, key),
          static_cast<double>(ci.integerOr(key, 0)));
  }
  gauge(out, "cluster_known_nodes", "Nodes this node knows, handshakes included (CLUSTER INFO)",
        static_cast<double>(ci.integerOr("cluster_known_nodes", 0)));
  gauge(out, "cluster_size", "Masters that own at least one slot (CLUSTER INFO cluster_size)",
        static_cast<double>(ci.integerOr("cluster_size", 0)));
  gauge(out, "cluster_current_epoch", "The cluster's current epoch as this node knows it",
        static_cast<double>(ci.integerOr("cluster_current_epoch", 0)));
}

void clusterNodesFamilies(const nodes_conf::NodesConf& nodes, Families& out) {
  std::map<std::string, double> flagged{
      {"fail", 0}, {"pfail", 0}, {"noaddr", 0}, {"handshake", 0}, {"disconnected", 0}};
  int healthy = 0;
  int lonely = 0;
  for (const auto& n : nodes.nodes()) {
    flagged["fail"] += n.isFailed() ? 1 : 0;
    flagged["pfail"] += n.isPfail() ? 1 : 0;
    flagged["noaddr"] += n.isNoaddr() ? 1 : 0;
    flagged["handshake"] += n.inHandshake() ? 1 : 0;
    flagged["disconnected"] += !n.isMyself() && !n.isConnected() ? 1 : 0;
    healthy += cluster::reachable(n) ? 1 : 0;
    if (!n.isMaster() || n.slotCount() == 0) continue;
    bool has_replica = false;
    for (const auto& r : nodes.nodes()) has_replica |= r.master_id == n.id && cluster::working(r);
    lonely += has_replica ? 0 : 1;
  }
  Samples s;
  for (const auto& [name, count] : flagged) s.push_back({{{"flag", name}}, count});
  add(out, pm::MetricType::Gauge, "cluster_nodes_flagged",
      "Nodes in this node's CLUSTER NODES with a flag (a node may carry several)", s);
  gauge(out, "cluster_healthy_nodes",
        "Nodes this node is linked to and sees without failure flags, itself included", healthy);
  gauge(out, "cluster_masters_without_replicas",
        "Masters owning slots that have no working replica in this node's view", lonely);
}

// The slots this node has open, from its own CLUSTER NODES line: a count per direction always
// (a dashboard shows slots moving), and one series per open slot (at most kMaxOpenSlotSeries),
// so an alert can tell a slot left open for long from a move that opens one slot after another.
constexpr size_t kMaxOpenSlotSeries = 128;

void openSlotFamilies(const nodes_conf::Node& me, Families& out) {
  double migrating = 0;
  double importing = 0;
  Samples each;
  for (const auto& o : me.open_slots) {
    (o.migrating ? migrating : importing) += 1;
    if (each.size() >= kMaxOpenSlotSeries) continue;
    each.push_back({{{"slot", std::to_string(o.slot)},
                     {"direction", o.migrating ? "migrating" : "importing"},
                     {"peer_node_id", o.node_id}},
                    1});
  }
  add(out, pm::MetricType::Gauge, "node_open_slots",
      "Slots this node has open (CLUSTER NODES): migrating to or importing from another node",
      {{{{"direction", "migrating"}}, migrating}, {{{"direction", "importing"}}, importing}});
  add(out, pm::MetricType::Gauge, "node_open_slot",
      "One series per slot this node has open (at most 128), by direction and the other node",
      each);
}

void nodeFamilies(const cluster::Snapshot& s, std::optional<int> ordinal, Families& out) {
  const auto& me = *s.myself();
  add(out, pm::MetricType::Gauge, "node_info", "This node's identity; the value is always 1",
      {{{{"node_id", me.id},
         {"ordinal", ordinal ? std::to_string(*ordinal) : ""},
         {"redis_version", s.info.str("redis_version")}},
        1}});
  add(out, pm::MetricType::Gauge, "node_role",
      "This node's role in CLUSTER NODES: 1 for the current one (master or slave)",
      {{{{"role", "master"}}, flag(me.isMaster())}, {{{"role", "slave"}}, flag(me.isReplica())}});
  gauge(out, "node_slots", "Slots this node owns (0 on replicas)", me.slotCount());
  gauge(out, "node_config_epoch", "This node's config epoch (a replica shows its master's)",
        static_cast<double>(me.config_epoch));
  gauge(out, "node_keys", "Keys in the local Redis (DBSIZE)", static_cast<double>(s.keys));
  openSlotFamilies(me, out);
}

void replicationFamilies(const state::StateView& v, Families& out) {
  const auto& info = v.local->info;
  gauge(out, "replication_connected_replicas", "Replicas connected to this node (INFO)",
        static_cast<double>(info.integerOr("connected_slaves", 0)));
  if (!v.local->isReplica()) return;
  gauge(out, "replication_link_up", "Replicas: 1 when the link to the master is up",
        flag(info.str("master_link_status") == "up"));
  gauge(out, "replication_sync_in_progress", "Replicas: 1 while a full sync from the master runs",
        flag(info.integerOr("master_sync_in_progress", 0) != 0));
  auto mine = info.integer("slave_repl_offset");
  if (!v.master_repl_offset || !mine) return;
  gauge(out, "replication_lag_bytes",
        "Replicas: bytes the master's replication offset is ahead of this node's",
        static_cast<double>(std::max<int64_t>(0, *v.master_repl_offset - *mine)));
}

// Masters per Kubernetes node and zone, as the layout keeper sees them (every agent exports the
// same numbers from its own view; alerts take the max or min over the agents).
void layoutFamilies(const layout::Report& r, Families& out) {
  const auto& p = r.plan;
  Samples per_node, per_zone;
  auto num = [](int n) { return static_cast<double>(n); };
  for (const auto& [node, n] : p.now.per_node) per_node.push_back({{{"k8s_node", node}}, num(n)});
  for (const auto& [zone, n] : p.now.per_zone) per_zone.push_back({{{"zone", zone}}, num(n)});
  add(out, pm::MetricType::Gauge, "layout_masters",
      "Masters with slots per Kubernetes node, in this node's view", per_node);
  add(out, pm::MetricType::Gauge, "layout_zone_masters",
      "Masters with slots per zone (--zone), in this node's view", per_zone);
  add(out, pm::MetricType::Gauge, "layout_masters_sharing",
      "Pairs of masters that share a Kubernetes node or a zone: now, and in the best layout the "
      "shards' members allow",
      {{{{"scope", "k8s_node"}, {"layout", "current"}}, num(p.now.node_pairs)},
       {{{"scope", "k8s_node"}, {"layout", "best"}}, num(p.best.node_pairs)},
       {{{"scope", "zone"}, {"layout", "current"}}, num(p.now.zone_pairs)},
       {{{"scope", "zone"}, {"layout", "best"}}, num(p.best.zone_pairs)}});
  gauge(out, "layout_shards_off",
        "Shards whose master is not where the layout keeper wants it (--layout-keeper)",
        p.offShards());
  gauge(out, "layout_quiet_seconds",
        "How long the cluster has been healthy and unchanged in this node's view",
        static_cast<double>(r.quiet_ms) / 1000.0);
}

}  // namespace

Exporter::Exporter(const Identity& identity)
    : identity_(identity), registry_(std::make_shared<pm::Registry>()) {
  auto& r = *registry_;
  fixedGauge(
      r, "build_info", "The agent's build; the value is always 1",
      {{"version", identity.version}, {"revision", identity.revision}, {"compiler", compiler()}},
      1);
  fixedGauge(r, "start_time_seconds", "When the agent started (unix time)", {},
             static_cast<double>(identity.start_unix_ms) / 1000.0);
  fixedGauge(r, "expected_nodes", "Pods in the StatefulSet (--cluster-nodes)", {},
             identity.expected_nodes);
  fixedGauge(r, "expected_replicas", "Replicas per master (--cluster-replicas)", {},
             identity.expected_replicas);
  fixedGauge(r, "observe_mode", "1 when the agent only observes (--mode observe)", {},
             flag(identity.observe));
}

Exporter::~Exporter() = default;

std::string Exporter::render(const state::StateView& view) const {
  Families out = registry_->Collect();
  agentFamilies(view, out);
  activityFamilies(view, out);
  tlsFamilies(view, out);
  redisFamilies(view, out);
  if (view.local && view.local->nodes) {
    clusterInfoFamilies(view.local->cluster_info, out);
    clusterNodesFamilies(*view.local->nodes, out);
    nodeFamilies(*view.local, identity_.ordinal, out);
    replicationFamilies(view, out);
  }
  if (view.layout.planned) layoutFamilies(view.layout, out);
  return pm::TextSerializer().Serialize(out);
}

std::string Exporter::render(const std::shared_ptr<const state::StateView>& view) const {
  std::lock_guard lock(cache_mu_);
  // Compared by owner, not by address: a freed view's address may be reused by the next one.
  bool same = !cached_view_.owner_before(view) && !view.owner_before(cached_view_) &&
              !cached_view_.expired();
  if (!same) {
    cached_text_ = render(*view);
    cached_view_ = view;
  }
  return cached_text_;
}

}  // namespace agent::metrics
