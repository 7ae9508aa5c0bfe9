// SPDX-License-Identifier: Apache-2.0
#include "app/status.h"

#include <fmt/format.h>
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/cluster_driver.h"
#include "app/commands.h"
#include "auth/hash.h"
#include "auth/node_auth.h"
#include "auth/rotation.h"
#include "cluster/identity.h"
#include "cluster/versions.h"
#include "common/files.h"
#include "common/log.h"
#include "common/text.h"
#include "config/clients.h"
#include "layout/reshape.h"
#include "peers/resolver.h"
#include "redis/connection.h"
#include "statefile/statefile.h"

namespace agent::app {

namespace {

// One row of the table: a pod as its own node describes itself, or, when it does not answer,
// as the other pods see it.
struct Row {
  std::string pod, id, address, role, master, slots, link, flags, lag, server;
};

std::string slotText(const nodes_conf::Node& n) {
  std::string out;
  for (const auto& r : n.slots) {
    if (!out.empty()) out += ",";
    out += r.first == r.last ? std::to_string(r.first) : fmt::format("{}-{}", r.first, r.last);
  }
  return out.empty() ? "-" : out;
}

std::string joined(const std::set<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

using Ids = std::map<std::string, const cluster::PeerProbe*>;

// A few workers serve a status round over many pods; each pod costs about one round trip.
constexpr int kStatusWorkers = 8;
constexpr int64_t kStatusSlackMs = 500;

// The entry the other answering pods have for `subject` (by node ID, or by address when the
// subject does not answer) and the trouble flags they attach to it.
struct OthersView {
  const nodes_conf::Node* entry = nullptr;
  std::set<std::string> flags;
};

OthersView othersView(const std::vector<cluster::PeerProbe>& pods,
                      const cluster::PeerProbe& subject) {
  OthersView v;
  for (const auto& p : pods) {
    if (&p == &subject || !p.snapshot || !p.snapshot->nodes) continue;
    for (const auto& n : p.snapshot->nodes->nodes()) {
      bool same = subject.answering() ? n.id == subject.node_id
                                      : !subject.ip.empty() && n.address.host == subject.ip;
      if (!same) continue;
      if (v.entry == nullptr) v.entry = &n;
      for (const char* f : {"fail?", "fail", "noaddr", "handshake"}) {
        if (n.hasFlag(f)) v.flags.insert(f);
      }
      if (!n.isConnected()) v.flags.insert("disconnected");
    }
  }
  return v;
}

std::string replicationLink(const cluster::Snapshot& s) {
  if (s.info.integerOr("master_sync_in_progress", 0) != 0) return "syncing";
  return s.info.str("master_link_status", "?");
}

// "redis:7.0.15", "valkey:8.0.1" (one word, like an image tag); "-" when not read.
std::string serverText(const cluster::PeerProbe& p) {
  return p.server ? p.server->name + ":" + p.server->version : "-";
}

void describeNode(const nodes_conf::Node& n, const Ids& ids, Row& r) {
  r.id = text::shortId(n.id);
  r.address = n.address.endpoint();
  r.role = n.isMaster() ? "master" : "replica";
  r.slots = slotText(n);
  if (n.isReplica()) {
    auto it = ids.find(n.master_id);
    r.master = it != ids.end() ? it->second->pod() : text::shortId(n.master_id);
  }
}

Row rowFor(const cluster::PeerProbe& p, const std::vector<cluster::PeerProbe>& pods,
           const Ids& ids) {
  Row r{p.pod(), "-", p.ip.empty() ? "-" : p.ip, "?", "-", "-", "-", "-", "-", serverText(p)};
  OthersView others = othersView(pods, p);
  std::set<std::string> flags = others.flags;
  if (!p.snapshot || !p.snapshot->myself()) {
    if (others.entry != nullptr) describeNode(*others.entry, ids, r);
    // The error itself is in the problems list (and in --json); the cell stays one word.
    r.link = p.ip.empty() ? "unresolved" : (p.snapshot ? "loading" : "unreachable");
    r.flags = joined(flags);
    return r;
  }
  const auto& s = *p.snapshot;
  const auto& me = *s.myself();
  describeNode(me, ids, r);
  for (const auto& f : me.flags) {
    if (f != "myself" && f != "master" && f != "slave") flags.insert(f);
  }
  r.flags = joined(flags);
  if (!me.isReplica()) return r;
  r.link = replicationLink(s);
  auto it = ids.find(me.master_id);
  if (it != ids.end() && it->second->snapshot) {
    int64_t master_off = it->second->snapshot->info.integerOr("master_repl_offset", 0);
    int64_t my_off = s.info.integerOr("slave_repl_offset", 0);
    r.lag = fmt::format("{}", master_off > my_off ? master_off - my_off : 0);
  }
  return r;
}

Ids indexById(const std::vector<cluster::PeerProbe>& pods) {
  Ids ids;
  for (const auto& p : pods) {
    if (p.answering()) ids[p.node_id] = &p;
  }
  return ids;
}

// The cluster at a glance, from every answering pod's own view.
struct Summary {
  int pods = 0;
  int answering = 0;
  int state_ok = 0;
  int64_t min_slots_ok = 0;
};

Summary summarize(const std::vector<cluster::PeerProbe>& pods) {
  Summary s;
  s.pods = static_cast<int>(pods.size());
  s.min_slots_ok = nodes_conf::kSlotCount;
  for (const auto& p : pods) {
    if (!p.snapshot || !p.snapshot->nodes) continue;
    ++s.answering;
    s.state_ok += p.snapshot->clusterOk() ? 1 : 0;
    s.min_slots_ok =
        std::min(s.min_slots_ok, p.snapshot->cluster_info.integerOr("cluster_slots_ok", 0));
  }
  if (s.answering == 0) s.min_slots_ok = 0;
  return s;
}

using Json = nlohmann::ordered_json;

// The slots a pod's node has open, from its own CLUSTER NODES line.
const std::vector<nodes_conf::OpenSlot>* openSlotsOf(const cluster::PeerProbe& pod) {
  const auto* me = pod.snapshot ? pod.snapshot->myself() : nullptr;
  return me != nullptr ? &me->open_slots : nullptr;
}

Json openSlotsJson(const cluster::PeerProbe& pod) {
  Json out = Json::array();
  if (const auto* open = openSlotsOf(pod)) {
    for (const auto& o : *open) {
      out.push_back({{"slot", o.slot},
                     {"direction", o.migrating ? "migrating" : "importing"},
                     {"nodeId", o.node_id}});
    }
  }
  return out;
}

Json strandedJson(const std::vector<cluster::Stranded>& all) {
  Json out = Json::array();
  for (const auto& s : all) {
    out.push_back({{"nodeId", s.node_id},
                   {"pod", s.pod.empty() ? Json(nullptr) : Json(s.pod)},
                   {"ordinal", s.ordinal >= 0 ? Json(s.ordinal) : Json(nullptr)},
                   {"slots", s.slotCount()},
                   {"gone", s.gone},
                   {"scaleTo", s.ordinal >= 0 ? Json(s.scale_to) : Json(nullptr)},
                   {"message", cluster::describeStranded(s)}});
  }
  return out;
}

Json podJson(const cluster::PeerProbe& pod, const Row& r) {
  auto lag = text::parseInt(r.lag);
  return {{"ordinal", pod.ordinal},
          {"pod", r.pod},
          {"ip", pod.ip},
          {"nodeId", pod.node_id},
          {"role", r.role},
          {"master", r.master},
          {"slots", r.slots},
          {"link", r.link},
          {"flags", r.flags},
          {"lagBytes", lag ? Json(*lag) : Json(nullptr)},
          {"error", pod.error ? Json(pod.error->message) : Json(nullptr)},
          {"server", pod.server ? Json{{"name", pod.server->name},
                                       {"version", pod.server->version},
                                       {"redisVersion", pod.server->redis_version}}
                                : Json(nullptr)},
          {"openSlots", openSlotsJson(pod)}};
}

std::string counts(const std::map<std::string, int>& per) {
  std::vector<std::string> parts;
  parts.reserve(per.size());
  for (const auto& [name, n] : per) parts.push_back(fmt::format("{} {}", name, n));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string layoutTable(const LayoutStatus& l) {
  const auto& p = l.plan;
  std::string out = fmt::format(
      "\nLayout (keeper: {}, from {}'s view): masters per Kubernetes node: {}; per zone: {}\n",
      layout::targetName(l.target), l.viewer, counts(p.now.per_node), counts(p.now.per_zone));
  for (const auto& s : p.shards) {
    if (!s.off()) continue;
    out += fmt::format("  - slots {}: master {}, the layout wants {}: {}\n", s.slots,
                       s.master().name, s.members[s.wanted].name, s.reason);
  }
  if (p.offShards() == 0) out += "  every shard's master is where the layout wants it\n";
  if (!p.unknown.empty()) {
    out += fmt::format("  placement not known for: {}\n", fmt::join(p.unknown, ", "));
  }
  return out;
}

Json layoutJson(const LayoutStatus& l) {
  const auto& p = l.plan;
  Json off = Json::array();
  for (const auto& s : p.shards) {
    if (!s.off()) continue;
    off.push_back({{"slots", s.slots},
                   {"master", s.master().name},
                   {"wanted", s.members[s.wanted].name},
                   {"reason", s.reason}});
  }
  return {{"keeper", layout::targetName(l.target)},
          {"viewer", l.viewer},
          {"mastersPerNode", p.now.per_node},
          {"mastersPerZone", p.now.per_zone},
          {"masterPairsSharingNode", {{"current", p.now.node_pairs}, {"best", p.best.node_pairs}}},
          {"masterPairsSharingZone", {{"current", p.now.zone_pairs}, {"best", p.best.zone_pairs}}},
          {"offShards", off},
          {"unknownPlacement", p.unknown}};
}

// Pods whose name leads to another pod's agent, or to another StatefulSet's: the rows above
// then show that other node, and no table can say so.
void addIdentityProblems(const std::vector<cluster::PeerProbe>& pods, const config::Config& c,
                         cluster::Health& health) {
  for (const auto& p : pods) {
    cluster::Verdict v = cluster::vouchFor(p, c.peer_host_template);
    if (cluster::misdirected(v)) health.problems.push_back(v.why);
  }
  health.healthy = health.problems.empty();
}

// The servers by "name:version", each with its pods.
std::map<std::string, std::vector<std::string>> podsByServer(
    const std::vector<cluster::PeerProbe>& pods) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& p : pods) {
    if (p.server) out[serverText(p)].push_back(p.pod());
  }
  return out;
}

}  // namespace

std::vector<std::string> versionWarnings(const std::vector<cluster::PeerProbe>& pods) {
  std::vector<std::string> out = cluster::unsupportedPods(pods);
  auto servers = podsByServer(pods);
  if (servers.size() > 1) {
    std::vector<std::string> parts;
    parts.reserve(servers.size());
    for (const auto& [server, names] : servers) {
      parts.push_back(fmt::format("{} ({})", server, fmt::join(names, ", ")));
    }
    out.push_back(fmt::format(
        "the pods run different servers: {}; the agent never makes an older node follow a "
        "newer master",
        fmt::join(parts, ", ")));
  }
  for (const auto& p : pods) {
    const auto* me = p.snapshot ? p.snapshot->myself() : nullptr;
    if (me == nullptr || !me->isReplica()) continue;
    for (const auto& m : pods) {
      if (m.node_id != me->master_id) continue;
      if (auto why = cluster::followRefusal({p.pod(), p.server}, {m.pod(), m.server})) {
        out.push_back("a replica follows a newer master: " + *why);
      }
    }
  }
  return out;
}

std::optional<LayoutStatus> layoutStatus(const config::Config& c,
                                         const std::vector<cluster::PeerProbe>& pods) {
  const cluster::PeerProbe* viewer = nullptr;
  for (const auto& p : pods) {
    if (p.live() && viewer == nullptr) viewer = &p;
  }
  if (viewer == nullptr) return std::nullopt;
  layout::Input in;
  in.view = &*viewer->snapshot->nodes;
  // Where each pod runs, as its own agent said in the probe: only from an agent that vouches
  // for the node found at the pod's name.
  for (const auto& p : pods) {
    if (!p.answering() || !p.agent) continue;
    if (!cluster::vouched(p, c.peer_host_template)) continue;
    in.places[p.node_id] = {p.ordinal, p.pod(), {p.agent->k8s_node, p.agent->zone}};
  }
  in.preferred_masters = layout::creatorMasters(c.cluster_nodes, c.cluster_replicas, in.places);
  LayoutStatus out;
  out.target = layoutTarget(c.layout_keeper);
  in.target = out.target;
  out.viewer = viewer->pod();
  out.plan = layout::plan(in);
  return out;
}

std::string renderStatusTable(const std::vector<cluster::PeerProbe>& pods,
                              const cluster::Health& health, const LayoutStatus* layout) {
  auto ids = indexById(pods);
  Summary sum = summarize(pods);
  std::vector<Row> rows;
  rows.push_back(
      {"POD", "NODE", "ADDRESS", "ROLE", "MASTER", "SLOTS", "LINK", "FLAGS", "LAG", "SERVER"});
  for (const auto& p : pods) rows.push_back(rowFor(p, pods, ids));
  std::vector<size_t> width(10, 0);
  auto cells = [](const Row& r) {
    return std::vector<const std::string*>{&r.pod,   &r.id,   &r.address, &r.role, &r.master,
                                           &r.slots, &r.link, &r.flags,   &r.lag,  &r.server};
  };
  for (const auto& r : rows) {
    auto c = cells(r);
    for (size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i]->size());
  }
  std::string out = fmt::format(
      "{} of {} pods answer; {} report cluster_state ok; fewest slots ok in any view: {} of "
      "16384\n\n",
      sum.answering, sum.pods, sum.state_ok, sum.min_slots_ok);
  for (const auto& r : rows) {
    auto c = cells(r);
    std::string line;
    for (size_t i = 0; i < c.size(); ++i) line += fmt::format("{:<{}}  ", *c[i], width[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += health.healthy ? "\nCluster is healthy.\n" : "\nCluster is NOT healthy:\n";
  // A cluster that is not formed yet produces one line per pod and peer; the first ones say it.
  constexpr size_t kMaxLines = 20;
  for (size_t i = 0; i < health.problems.size() && i < kMaxLines; ++i) {
    out += "  - " + health.problems[i] + "\n";
  }
  if (health.problems.size() > kMaxLines) {
    out += fmt::format("  ... and {} more (see --json)\n", health.problems.size() - kMaxLines);
  }
  for (const auto& w : health.warnings) out += "  warning: " + w + "\n";
  out += renderOpenSlots(pods);
  if (layout != nullptr) out += layoutTable(*layout);
  return out;
}

std::string renderStatusJson(const std::vector<cluster::PeerProbe>& pods,
                             const cluster::Health& health, const LayoutStatus* layout,
                             const std::vector<cluster::Stranded>* stranded) {
  auto ids = indexById(pods);
  Summary sum = summarize(pods);
  Json out = {{"healthy", health.healthy},
              {"summary",
               {{"pods", sum.pods},
                {"answering", sum.answering},
                {"clusterStateOk", sum.state_ok},
                {"minSlotsOk", sum.min_slots_ok}}},
              {"problems", health.problems},
              {"warnings", health.warnings},
              {"pods", Json::array()}};
  for (const auto& p : pods) out["pods"].push_back(podJson(p, rowFor(p, pods, ids)));
  out["stranded"] =
      strandedJson(stranded != nullptr ? *stranded : std::vector<cluster::Stranded>{});
  if (layout != nullptr) out["layout"] = layoutJson(*layout);
  return out.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string renderOpenSlots(const std::vector<cluster::PeerProbe>& pods) {
  auto ids = indexById(pods);
  std::vector<std::string> parts;
  for (const auto& p : pods) {
    const auto* open = openSlotsOf(p);
    if (open == nullptr) continue;
    for (const auto& o : *open) {
      auto it = ids.find(o.node_id);
      std::string other = it != ids.end() ? it->second->pod() : text::shortId(o.node_id);
      parts.push_back(fmt::format("{} {} {} {} {}", p.pod(),
                                  o.migrating ? "migrating" : "importing", o.slot,
                                  o.migrating ? "to" : "from", other));
    }
  }
  if (parts.empty()) return {};
  return fmt::format("\nOpen slots (a move in progress, or left open by an interrupted one): {}\n",
                     fmt::join(parts, "; "));
}

std::vector<cluster::Stranded> strandedStatus(const config::Config& c,
                                              const std::vector<cluster::PeerProbe>& pods,
                                              const nodes_conf::OrdinalMap* map) {
  for (const auto& p : pods) {
    if (!p.snapshot || !p.snapshot->nodes || p.snapshot->myself() == nullptr) continue;
    return cluster::findStranded(
        {&*p.snapshot->nodes, &pods, map, c.cluster_nodes, c.peer_host_template});
  }
  return {};
}

std::string renderRotationLine(const AuthPhases& phases) {
  bool rotating = std::any_of(phases.begin(), phases.end(), [](const auto& p) {
    return p.second != "done" && p.second != "unknown";
  });
  if (!rotating) return {};
  std::string out = "Password rotation under way:";
  for (const auto& [pod, phase] : phases) out += fmt::format(" {} {};", pod, phase);
  out.back() = '\n';
  return out;
}

namespace {

// The agent's node ID -> ordinal map beside nodes.conf (status runs in the agent's container,
// which mounts the data volume); nullopt when it cannot be read: gone pods are then named by
// node ID only.
std::optional<nodes_conf::OrdinalMap> readOrdinalMap(const config::Config& c) {
  auto text = files::read(statefile::pathBeside(c.nodes_conf, statefile::kOrdinalMap));
  if (!text) return std::nullopt;
  auto map = nodes_conf::OrdinalMap::parse(*text);
  if (!map) return std::nullopt;
  return std::move(*map);
}

// Slots stranded on gone pods come first among the problems: they say what to do.
std::vector<cluster::Stranded> addStrandedProblems(const config::Config& c,
                                                   const std::vector<cluster::PeerProbe>& pods,
                                                   cluster::Health& health) {
  auto map = readOrdinalMap(c);
  auto stranded = strandedStatus(c, pods, map ? &*map : nullptr);
  std::vector<std::string> lines;
  lines.reserve(stranded.size());
  for (const auto& s : stranded) lines.push_back(cluster::describeStranded(s));
  health.problems.insert(health.problems.begin(), lines.begin(), lines.end());
  health.healthy = health.problems.empty();
  return stranded;
}

// How far the slots are from the shape (layout/reshape.h), in the first answering pod's view:
// pods' ordinals from their probes, the others (pods beyond the shape) from the agent's map.
std::optional<layout::Reshape> reshapeStatus(const config::Config& c,
                                             const std::vector<cluster::PeerProbe>& pods) {
  auto map = readOrdinalMap(c).value_or(nodes_conf::OrdinalMap{});
  const cluster::PeerProbe* viewer = nullptr;
  for (const auto& p : pods) {
    if (!p.live()) continue;
    if (viewer == nullptr) viewer = &p;
    if (!p.node_id.empty()) map.set(p.node_id, p.ordinal);
  }
  if (viewer == nullptr) return std::nullopt;
  auto r =
      layout::assessReshape({&*viewer->snapshot->nodes, &map, c.cluster_nodes, c.cluster_replicas});
  if (!r.known) return std::nullopt;
  return r;
}

// A scale that has slots left to move is a warning, not a problem: the cluster serves all the
// while; the line says what is left and what moves it.
void addReshapeWarning(const config::Config& c, const std::optional<layout::Reshape>& r,
                       cluster::Health& health) {
  if (!r || r->slots_to_move == 0) return;
  health.warnings.push_back(fmt::format(
      "the slots are not in the shape yet ({} pods, {} replica(s) per master: {} masters): {} "
      "slots to move{}; `redis-cluster-agent scale --to {}` moves them (a helm upgrade runs it)",
      c.cluster_nodes, c.cluster_replicas, r->target_masters, r->slots_to_move,
      r->leaving_slots > 0 ? fmt::format(", {} of them off pods that leave", r->leaving_slots)
                           : std::string(),
      c.cluster_nodes));
}

AuthPhases readAuthPhases(cluster::PeerPool& pool, const std::vector<cluster::PeerProbe>& pods,
                          const std::optional<std::string>& password) {
  AuthPhases out;
  std::string target = password ? auth::sha256Hex(*password) : std::string();
  for (const auto& p : pods) {
    auto node = auth::readNodeAuth([&pool, &p](const std::vector<std::string>& args) {
      return pool.command(p.ordinal, args);
    });
    auto phase = node ? auth::phaseOf(*node, target) : auth::Phase::Unknown;
    out.emplace_back(p.pod(), auth::phaseName(phase));
  }
  return out;
}

}  // namespace

int runStatus(const config::Config& c) {
  auto password = redis::readPasswordFile(c.redis_password_file);
  if (!password) {
    std::fprintf(stderr, "redis-cluster-agent: %s\n", password.error().message.c_str());
    return kExitUsage;
  }
  if (c.peer_host_template.empty()) {
    std::fprintf(stderr,
                 "redis-cluster-agent: status needs --peer-host-template "
                 "(AGENT_PEER_HOST_TEMPLATE) to find every pod\n");
    return kExitUsage;
  }
  peers::SystemResolver resolver;
  auto options = config::peerPoolOptions(c, *password);
  options.workers = kStatusWorkers;
  cluster::PeerPool pool(options, resolver, c.peerHosts());
  // Connect, one snapshot and the agent's answer, each bounded by --redis-timeout: a pod that
  // does not answer in that time is reported as such, whatever it does.
  int64_t budget_ms = 4 * c.redis_timeout_ms + kStatusSlackMs;
  auto pods = pool.probe({{}, cluster::Pods::Depth::Snapshot, true, budget_ms});
  for (auto& p : pods) {
    if (p.stale && !p.error)
      p.error = fail(Errc::Timeout, fmt::format("no answer within {}ms", budget_ms));
  }
  auto health = cluster::assess(pods, c.cluster_replicas);
  addIdentityProblems(pods, c, health);
  auto stranded = addStrandedProblems(c, pods, health);
  for (auto& w : versionWarnings(pods)) health.warnings.push_back(std::move(w));
  auto reshape = reshapeStatus(c, pods);
  addReshapeWarning(c, reshape, health);
  auto layout = layoutStatus(c, pods);
  const LayoutStatus* l = layout ? &*layout : nullptr;
  auto phases = readAuthPhases(pool, pods, *password);
  std::string text;
  if (c.json) {
    auto json = Json::parse(renderStatusJson(pods, health, l, &stranded));
    for (size_t i = 0; i < phases.size() && i < json["pods"].size(); ++i) {
      json["pods"][i]["authPhase"] = phases[i].second;
    }
    json["shape"] = {{"nodes", c.cluster_nodes},
                     {"replicas", c.cluster_replicas},
                     {"slotsToMove", reshape ? Json(reshape->slots_to_move) : Json(nullptr)}};
    text = json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  } else {
    text = renderStatusTable(pods, health, l) + renderRotationLine(phases);
  }
  std::fputs(text.c_str(), stdout);
  return health.healthy ? kExitOk : kExitFailure;
}

}  // namespace agent::app
