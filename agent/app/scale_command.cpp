// SPDX-License-Identifier: Apache-2.0
#include "app/scale_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "app/commands.h"
#include "app/rebalance_command.h"
#include "cluster/agent_info.h"
#include "cluster/stranded.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/text.h"
#include "config/shape.h"
#include "nodes_conf/nodes_conf.h"
#include "nodes_conf/ordinal_map.h"
#include "statefile/statefile.h"

namespace agent::app {

namespace {

const log::Logger kLog("scale");

// How long one graceful failover may take before the verb gives up on it (it runs again).
constexpr int64_t kFailoverWaitMs = 30000;
constexpr int64_t kAgentTimeoutMs = 1000;

struct ScaleFlags {
  MigrateFlags engine;
  int to = 0;
  int replicas = -1;  // -1: as the cluster has now
  int64_t timeout_ms = 600000;
  int agent_port = 9839;
  bool drain_only = false;
  std::string nodes_conf;  // names the pods of stranded slots (the ordinal map beside it)
};

Result<int> positive(const std::string& flag, const std::string& text, int lo) {
  auto n = text::parseInt(text);
  if (!n || *n < lo || *n > 100000) {
    return fail(Errc::Invalid,
                fmt::format("{} needs a whole number >= {}, not '{}'", flag, lo, text));
  }
  return static_cast<int>(*n);
}

Status setScaleFlag(ScaleFlags& f, const std::string& flag, const std::string& value) {
  auto n = positive(flag, value, flag == "--replicas" ? 0 : 1);
  if (!n) return n.error();
  if (flag == "--to") f.to = *n;
  if (flag == "--replicas") f.replicas = *n;
  if (flag == "--timeout") f.timeout_ms = int64_t{*n} * 1000;
  if (flag == "--agent-port") f.agent_port = *n;
  return {};
}

Result<ScaleFlags> parseScaleFlags(const std::vector<std::string>& args) {
  ScaleFlags f;
  // In the agent's container (kubectl exec) the pod's own settings are the defaults.
  const char* addr = std::getenv("AGENT_REDIS_ADDR");
  const char* password_file = std::getenv("AGENT_REDIS_PASSWORD_FILE");
  const char* nodes_conf = std::getenv("AGENT_NODES_CONF");
  if (nodes_conf != nullptr) f.nodes_conf = nodes_conf;
  f.engine.seed = addr != nullptr && *addr != '\0' ? addr : "127.0.0.1:6379";
  if (password_file != nullptr) f.engine.password_file = password_file;
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--drain-only") {
      f.drain_only = true;
      continue;
    }
    auto known = parseMigrateFlag(f.engine, args, i);
    if (!known) return known.error();
    if (*known) continue;
    if (a == "--nodes-conf") {
      if (i + 1 >= args.size()) return fail(Errc::Invalid, a + " needs a value");
      f.nodes_conf = args[++i];
      continue;
    }
    if (a != "--to" && a != "--replicas" && a != "--timeout" && a != "--agent-port") {
      return fail(Errc::Invalid, "unknown flag " + a);
    }
    if (i + 1 >= args.size()) return fail(Errc::Invalid, a + " needs a value");
    if (Status st = setScaleFlag(f, a, args[++i]); !st) return st.error();
  }
  if (f.to == 0) return fail(Errc::Invalid, "--to N (the number of pods) is required");
  return f;
}

// The cluster as the seed sees it, with the pod of every node whose agent vouches for it.
struct Cluster {
  nodes_conf::NodesConf view;
  std::map<std::string, int> ordinal;  // node ID -> ordinal, for the vouched ones
  std::string set;                     // the peer host template an agent gave
  std::string name(const std::string& id) const {
    auto it = ordinal.find(id);
    return it == ordinal.end() ? text::shortId(id) : fmt::format("pod {}", it->second);
  }
  std::optional<int> ordinalOf(const std::string& id) const {
    auto it = ordinal.find(id);
    if (it == ordinal.end()) return std::nullopt;
    return it->second;
  }
};

bool alive(const nodes_conf::Node& n) {
  return !n.isFailed() && !n.isPfail() && !n.isNoaddr() && !n.inHandshake() &&
         (n.isMyself() || n.isConnected());
}

HostPort addressOf(const nodes_conf::Node& n, const HostPort& seed) {
  return {n.isMyself() && n.address.host.empty() ? seed.host : n.address.host, n.address.port()};
}

Result<nodes_conf::NodesConf> viewOf(const HostPort& at, const redis::ConnectOptions& o) {
  auto conn = redis::Connection::open(at, o);
  if (!conn) return conn.error();
  auto text = conn->commandString({"CLUSTER", "NODES"});
  if (!text) return text.error();
  return nodes_conf::parseClusterNodes(*text);
}

Result<Cluster> readCluster(const ScaleFlags& f, const Connect& c) {
  auto seed = parseHostPort(f.engine.seed);
  auto view = viewOf(*seed, c.options);
  if (!view) return view.error();
  Cluster out{std::move(*view), {}, {}};
  for (const auto& n : out.view.nodes()) {
    if (n.inHandshake() || n.isNoaddr()) continue;
    std::string host = addressOf(n, *seed).host;
    auto info = cluster::askAgent(host, f.agent_port, kAgentTimeoutMs, host);
    if (info && info->node_id == n.id && info->ordinal >= 0) {
      out.ordinal[n.id] = info->ordinal;
      if (out.set.empty()) out.set = info->set;
    }
  }
  return out;
}

// Replicas per master the cluster has now: live nodes per master that owns slots, less one.
int replicasNow(const Cluster& c) {
  int masters = 0;
  int live = 0;
  for (const auto& n : c.view.nodes()) {
    masters += n.isMaster() && !n.slots.empty() ? 1 : 0;
    live += alive(n) ? 1 : 0;
  }
  return masters > 0 ? std::max(0, live / masters - 1) : 0;
}

bool staying(const Cluster& c, const nodes_conf::Node& n, int to) {
  auto o = c.ordinalOf(n.id);
  return o && *o < to;
}

// Only a node its agent vouches for is known to leave; one of unknown pod is neither.
bool leaving(const Cluster& c, const nodes_conf::Node& n, int to) {
  auto o = c.ordinalOf(n.id);
  return o && *o >= to;
}

// What keeps pods 0..N-1 from being members in the shape's roles; empty when they are.
std::vector<std::string> roleProblems(const Cluster& c, const config::Shape& shape) {
  std::vector<std::string> out;
  std::map<int, const nodes_conf::Node*> by_ordinal;
  for (const auto& n : c.view.nodes()) {
    if (staying(c, n, shape.nodes) && alive(n)) by_ordinal[*c.ordinalOf(n.id)] = &n;
  }
  for (int k = 0; k < shape.nodes; ++k) {
    if (!by_ordinal.count(k)) out.push_back(fmt::format("pod {} is not a working member yet", k));
  }
  int masters = 0;
  for (const auto& [k, n] : by_ordinal) {
    if (!n->isMaster()) continue;
    ++masters;
    int replicas = 0;
    for (const auto& [r, rn] : by_ordinal) replicas += rn->master_id == n->id ? 1 : 0;
    if (replicas != shape.replicas) {
      out.push_back(
          fmt::format("pod {} (a master) has {} replica(s) among the staying pods, the "
                      "shape wants {}",
                      k, replicas, shape.replicas));
    }
  }
  if (masters != shape.masters()) {
    out.push_back(fmt::format("{} masters among pods 0..{}, the shape wants {}", masters,
                              shape.nodes - 1, shape.masters()));
  }
  return out;
}

// Waits until `done` says nothing is missing, printing what it waits for when that changes.
// The last problems when --timeout ran out.
std::vector<std::string> waitUntil(const ScaleFlags& f, const Connect& c, const char* what,
                                   const std::function<std::vector<std::string>(Cluster&)>& done,
                                   Cluster& out) {
  int64_t deadline = monotonicMs() + f.timeout_ms;
  std::string last;
  std::vector<std::string> problems = {"the cluster could not be read"};
  for (;;) {
    if (auto cl = readCluster(f, c)) {
      out = std::move(*cl);
      problems = done(out);
    } else {
      problems = {cl.error().message};
    }
    if (problems.empty() || monotonicMs() >= deadline) return problems;
    std::string now = fmt::format("{}", fmt::join(problems, "; "));
    if (now != last) std::fprintf(stderr, "scale: waiting for %s: %s\n", what, now.c_str());
    last = now;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Result<redis::Reply> commandAt(const HostPort& at, const Connect& c,
                               const std::vector<std::string>& args) {
  auto conn = redis::Connection::open(at, c.options);
  if (!conn) return conn.error();
  return conn->command(args);
}

// A staying replica of a master on a leaving pod takes over with a graceful CLUSTER FAILOVER
// (the master agrees and hands over its last writes; never FORCE here), while the staying pods
// have fewer masters than the shape. True when one switched.
Result<bool> moveMasterOffLeaving(const ScaleFlags& f, const Connect& c, const Cluster& cl,
                                  const config::Shape& shape) {
  int masters = 0;
  for (const auto& n : cl.view.nodes()) {
    masters += n.isMaster() && alive(n) && staying(cl, n, shape.nodes) ? 1 : 0;
  }
  if (masters >= shape.masters()) return false;
  auto seed = parseHostPort(f.engine.seed);
  for (const auto& m : cl.view.nodes()) {
    if (!m.isMaster() || m.slots.empty() || !leaving(cl, m, shape.nodes)) continue;
    for (const auto& r : cl.view.nodes()) {
      if (r.master_id != m.id || !alive(r) || !staying(cl, r, shape.nodes)) continue;
      kLog.info("A staying replica takes over a shard whose master's pod leaves",
                {{"replica", cl.name(r.id)}, {"master", cl.name(m.id)}});
      if (auto done = commandAt(addressOf(r, *seed), c, {"CLUSTER", "FAILOVER"}); !done) {
        return done.error();
      }
      int64_t deadline = monotonicMs() + kFailoverWaitMs;
      while (monotonicMs() < deadline) {
        auto view = viewOf(addressOf(r, *seed), c.options);
        if (view && view->myself().isMaster()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      return fail(Errc::Timeout, fmt::format("{} did not take over from {} within {} s",
                                             cl.name(r.id), cl.name(m.id), kFailoverWaitMs / 1000));
    }
  }
  return false;
}

// Staying working replicas beyond the shape's R of their (working, staying) master, the
// highest ordinals first: the ones to move. A pod that comes back with its old nodes.conf (a
// retained PVC after a scale-in) rejoins in its old role, typically such a replica.
std::vector<const nodes_conf::Node*> surplusReplicas(const Cluster& cl,
                                                     const config::Shape& shape) {
  std::map<std::string, std::vector<std::pair<int, const nodes_conf::Node*>>> by_master;
  for (const auto& r : cl.view.nodes()) {
    if (!r.isReplica() || !alive(r) || !staying(cl, r, shape.nodes)) continue;
    const auto* m = cl.view.find(r.master_id);
    if (m != nullptr && alive(*m) && staying(cl, *m, shape.nodes)) {
      by_master[m->id].push_back({*cl.ordinalOf(r.id), &r});
    }
  }
  std::vector<std::pair<int, const nodes_conf::Node*>> extra;
  for (auto& [id, replicas] : by_master) {
    std::sort(replicas.begin(), replicas.end());
    for (size_t i = static_cast<size_t>(shape.replicas); i < replicas.size(); ++i) {
      extra.push_back(replicas[i]);
    }
  }
  std::sort(extra.begin(), extra.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<const nodes_conf::Node*> out;
  out.reserve(extra.size());
  for (const auto& e : extra) out.push_back(e.second);
  return out;
}

// Surplus replicas fill what the shape lacks: while the staying pods have too few masters,
// one is reset (CLUSTER RESET SOFT: it keeps its ID, drops its copy of its master's data,
// which its master still has, and its agent brings it back as an empty master, a new shard);
// while a master has fewer than R replicas, one follows it (CLUSTER REPLICATE). One command
// per call; true when one was sent.
Result<bool> useSurplusReplica(const ScaleFlags& f, const Connect& c, const Cluster& cl,
                               const config::Shape& shape) {
  auto surplus = surplusReplicas(cl, shape);
  if (surplus.empty()) return false;
  const auto* r = surplus.front();
  auto seed = parseHostPort(f.engine.seed);
  std::vector<const nodes_conf::Node*> masters;
  for (const auto& n : cl.view.nodes()) {
    if (n.isMaster() && alive(n) && staying(cl, n, shape.nodes)) masters.push_back(&n);
  }
  if (static_cast<int>(masters.size()) < shape.masters()) {
    kLog.info("A surplus replica becomes the master of a new shard (CLUSTER RESET SOFT)",
              {{"replica", cl.name(r->id)}, {"was_replica_of", cl.name(r->master_id)}});
    auto done = commandAt(addressOf(*r, *seed), c, {"CLUSTER", "RESET", "SOFT"});
    if (!done) return done.error();
    return true;
  }
  for (const auto* m : masters) {
    int replicas = 0;
    for (const auto& n : cl.view.nodes()) {
      replicas += n.master_id == m->id && alive(n) && staying(cl, n, shape.nodes) ? 1 : 0;
    }
    if (replicas >= shape.replicas) continue;
    kLog.info("A surplus replica follows a master that lacks replicas",
              {{"replica", cl.name(r->id)}, {"master", cl.name(m->id)}});
    auto done = commandAt(addressOf(*r, *seed), c, {"CLUSTER", "REPLICATE", m->id});
    if (!done) return done.error();
    return true;
  }
  return false;
}

// Slots stranded on gone pods (cluster/stranded.h: a scale-in done before draining) make any
// scale wrong: their keys exist only on those pods' volumes, so no slot is moved and no node
// forgotten until the pods are back. Says what to do and returns true when there are some.
bool refuseStranded(const ScaleFlags& f, const Cluster& cl) {
  // The ordinal map beside the pod's nodes.conf names the pods no agent answers for any more.
  std::optional<nodes_conf::OrdinalMap> map;
  if (!f.nodes_conf.empty()) {
    auto text = statefile::read(statefile::pathBeside(f.nodes_conf, statefile::kOrdinalMap));
    if (text && *text) {
      if (auto m = nodes_conf::OrdinalMap::parse(**text)) map = std::move(*m);
    }
  }
  auto stranded = cluster::findStrandedByAgents(cl.view, cl.ordinal, cl.set, map ? &*map : nullptr);
  for (const auto& s : stranded) {
    std::fprintf(stderr, "scale: refused, nothing was changed: %s\n",
                 cluster::describeStranded(s).c_str());
  }
  return !stranded.empty();
}

// Every master on pods 0..N-1 gets an even share; the others are drained.
Status moveSlots(const ScaleFlags& f, const Connect& c, const Cluster& cl,
                 const config::Shape& shape) {
  std::vector<std::string> targets;
  for (const auto& n : cl.view.nodes()) {
    if (n.isMaster() && alive(n) && staying(cl, n, shape.nodes)) targets.push_back(n.id);
  }
  // A master of a removed pod that owns nothing takes no part (it is gone, or about to be
  // forgotten); one that owns slots does, and stops the run while it does not answer.
  auto seed = parseHostPort(f.engine.seed);
  std::vector<migrate::Peer> peers;
  for (const auto& p : migrate::mastersIn(cl.view, seed->host)) {
    const auto* n = cl.view.find(p.id);
    if (n != nullptr && (alive(*n) || !n->slots.empty())) peers.push_back(p);
  }
  auto report = runEngine(f.engine, c, peers, targets, "scale");
  if (!report) return report.error();
  kLog.info("Slots moved", {{"slots_moved", report->progress.slots_done},
                            {"keys_moved", report->progress.keys_moved},
                            {"repaired", report->repaired}});
  return {};
}

// Nodes of pods that leave and still run (their agent vouches for them).
std::vector<std::string> leavingPods(const Cluster& cl, const config::Shape& shape) {
  std::vector<std::string> out;
  for (const auto& [id, o] : cl.ordinal) {
    if (o >= shape.nodes) out.push_back(id);
  }
  return out;
}

// Why `id` may not be forgotten as `view` sees it; "" when it may.
std::string forgetBlocker(const nodes_conf::NodesConf& view, const std::string& id) {
  const auto* n = view.find(id);
  if (n == nullptr) return "";
  if (!n->slots.empty()) return "it owns slots";
  for (const auto& r : view.nodes()) {
    if (r.master_id == id) return fmt::format("{} replicates it", text::shortId(r.id));
  }
  return "";
}

// What one staying node's view still holds besides the staying pods' nodes: each such node is
// forgotten there once it is gone (failed in that view, or already forgotten or failed in the
// seed's, and no agent vouches for it), owns no slots and nobody replicates it; else it is
// reported. Only asked once every staying pod is a member in its role, so none of them can be
// taken for a gone node.
std::vector<std::string> cleanView(const Connect& c, const Cluster& cl, const config::Shape& shape,
                                   const nodes_conf::Node& at, const HostPort& address) {
  auto view = viewOf(address, c.options);
  if (!view) return {fmt::format("{}: {}", cl.name(at.id), view.error().message)};
  std::vector<std::string> out;
  for (const auto& n : view->nodes()) {
    if (n.isMyself() || n.inHandshake() || staying(cl, n, shape.nodes)) continue;
    const auto* seen = cl.view.find(n.id);
    bool gone = !cl.ordinal.count(n.id) &&
                (n.isFailed() || n.isNoaddr() || seen == nullptr || seen->isFailed());
    std::string blocker = gone ? forgetBlocker(*view, n.id) : "";
    if (!gone || !blocker.empty()) {
      out.push_back(fmt::format("{} knows node {} ({}): {}", cl.name(at.id), text::shortId(n.id),
                                n.address.endpoint(),
                                gone ? blocker
                                     : "no staying pod's and not failed yet (its pod removed? "
                                       "it is flagged after node-timeout)"));
      continue;
    }
    kLog.info("Forgetting a node whose pod is gone",
              {{"node", text::shortId(n.id)}, {"on", cl.name(at.id)}});
    auto done = commandAt(address, c, {"CLUSTER", "FORGET", n.id});
    if (!done && done.error().message.find("Unknown node") == std::string::npos) {
      out.push_back(fmt::format("FORGET {} on {}: {}", text::shortId(n.id), cl.name(at.id),
                                done.error().message));
      continue;
    }
    out.push_back(
        fmt::format("{} forgot node {}; checking again", cl.name(at.id), text::shortId(n.id)));
  }
  return out;
}

// Every staying node's view cleaned (cleanView); what is left to wait for.
std::vector<std::string> cleanViews(const ScaleFlags& f, const Connect& c, const Cluster& cl,
                                    const config::Shape& shape) {
  std::vector<std::string> out;
  auto seed = parseHostPort(f.engine.seed);
  for (const auto& n : cl.view.nodes()) {
    if (!staying(cl, n, shape.nodes) || !alive(n)) continue;
    auto more = cleanView(c, cl, shape, n, addressOf(n, *seed));
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

// Live nodes whose pod cannot be told (their agent does not answer): any of them might leave.
std::vector<std::string> unknownPods(const Cluster& cl) {
  std::vector<std::string> out;
  for (const auto& n : cl.view.nodes()) {
    if (alive(n) && !cl.ordinalOf(n.id)) {
      out.push_back(
          fmt::format("which pod runs node {} at {} is not known (its agent does not "
                      "answer on --agent-port); it might be one that leaves",
                      text::shortId(n.id), n.address.endpoint()));
    }
  }
  return out;
}

// Until the staying pods are members in their roles (moving masters off leaving pods first).
Status reachRoles(const ScaleFlags& f, const Connect& c, const config::Shape& shape, Cluster& cl) {
  auto problems = waitUntil(
      f, c, "the pods to take their roles",
      [&](Cluster& now) -> std::vector<std::string> {
        // No role changes on a guess: a node whose agent does not vouch for it (not answering,
        // or its Redis just restarted and not read yet) would count as leaving, and its shard
        // would be failed over or a replica reset to make up for it.
        if (auto unknown = unknownPods(now); !unknown.empty()) return unknown;
        auto moved = moveMasterOffLeaving(f, c, now, shape);
        if (!moved) return {moved.error().message};
        if (*moved) return {"a master moved off a leaving pod"};
        auto missing = roleProblems(now, shape);
        if (missing.empty()) return missing;
        auto used = useSurplusReplica(f, c, now, shape);
        if (!used) missing.push_back(used.error().message);
        if (used && *used) missing.emplace_back("a surplus replica changed its role");
        return missing;
      },
      cl);
  if (problems.empty()) return {};
  return fail(Errc::Timeout, fmt::format("the pods did not reach their roles within --timeout: {}",
                                         fmt::join(problems, "; ")));
}

int finish(const ScaleFlags& f, const Connect& c, const config::Shape& shape, Cluster& cl) {
  auto leaving = leavingPods(cl, shape);
  if (!leaving.empty()) {
    std::vector<std::string> names;
    names.reserve(leaving.size());
    for (const auto& id : leaving) names.push_back(cl.name(id));
    std::sort(names.begin(), names.end());
    std::fprintf(stderr, "scale: drained; %s can be removed now (their nodes own no slots)\n",
                 fmt::format("{}", fmt::join(names, ", ")).c_str());
    if (f.drain_only) return kExitOk;
  }
  auto problems = waitUntil(
      f, c, "the leaving pods to be removed and their nodes forgotten",
      [&](Cluster& now) -> std::vector<std::string> {
        std::vector<std::string> out;
        for (const auto& id : leavingPods(now, shape)) {
          out.push_back(fmt::format("{} still runs", now.name(id)));
        }
        if (!out.empty()) return out;
        if (auto roles = roleProblems(now, shape); !roles.empty()) return roles;
        return cleanViews(f, c, now, shape);
      },
      cl);
  if (!problems.empty()) {
    kLog.error("The cluster did not reach its new shape in --timeout; run scale again",
               {{"waiting_for", fmt::format("{}", fmt::join(problems, "; "))}});
    return kExitFailure;
  }
  std::fprintf(stderr, "scale: the cluster has its new shape: %s\n",
               config::describeShape(shape).c_str());
  return kExitOk;
}

// --drain-only when no pod leaves (the cluster grows or keeps its size; the chart's pre-upgrade
// hook runs on every upgrade): nothing to drain once every live node's pod is known, and the
// new pods are not waited for (they come after). nullopt when some pod leaves after all.
std::optional<int> drainNothing(const ScaleFlags& f, const Connect& c, const config::Shape& shape,
                                Cluster& cl) {
  if (!f.drain_only || !leavingPods(cl, shape).empty()) return std::nullopt;
  auto problems = waitUntil(f, c, "every node's pod to be known", unknownPods, cl);
  if (!problems.empty()) {
    kLog.error("Cannot tell whether a leaving pod runs a node; fix its agent and run again",
               {{"waiting_for", fmt::format("{}", fmt::join(problems, "; "))}});
    return kExitFailure;
  }
  if (!leavingPods(cl, shape).empty()) return std::nullopt;
  std::fprintf(stderr, "scale: nothing to drain: no pod at ordinal %d or above runs a node\n",
               shape.nodes);
  return kExitOk;
}

int run(const ScaleFlags& f) {
  auto connect = connectFrom(f.engine);
  if (!connect) {
    kLog.error("Bad flags", {{"err", connect.error().message}});
    return kExitUsage;
  }
  auto first = readCluster(f, *connect);
  if (!first) {
    kLog.error("Cannot read the cluster", {{"err", first.error().message}});
    return kExitFailure;
  }
  config::Shape shape{f.to, f.replicas >= 0 ? f.replicas : replicasNow(*first)};
  if (shape.masters() < 3) {
    kLog.error("The shape gives fewer than 3 masters", {{"shape", config::describeShape(shape)}});
    return kExitUsage;
  }
  kLog.info("Scaling", {{"to", config::describeShape(shape)}});
  Cluster cl = std::move(*first);
  if (refuseStranded(f, cl)) return kExitFailure;
  if (auto done = drainNothing(f, *connect, shape, cl)) return *done;
  if (Status st = reachRoles(f, *connect, shape, cl); !st) {
    kLog.error("Scale stopped; run it again", {{"err", st.error().message}});
    return kExitFailure;
  }
  if (refuseStranded(f, cl)) return kExitFailure;
  if (Status st = moveSlots(f, *connect, cl, shape); !st) {
    kLog.error("Moving slots stopped; run scale again to finish", {{"err", st.error().message}});
    return kExitFailure;
  }
  if (f.engine.dry_run) return kExitOk;
  return finish(f, *connect, shape, cl);
}

}  // namespace

bool isScaleCommand(const std::vector<std::string>& args) {
  return args.size() >= 2 && args[1] == "scale";
}

constexpr const char* kScaleUsage =
    "Usage: redis-cluster-agent scale --to N [--replicas R] [--drain-only] [flags]\n\n"
    "Changes the cluster to N pods (R replicas per master) in order: waits for the new pods'\n"
    "roles, moves slots until every master owns an even share, drains the shards of pods that\n"
    "go away (--drain-only stops there: the pods can then be removed), then forgets their\n"
    "nodes. Safe to run again; exits 0 only when the cluster has the new shape.\n\n"
    "Flags: --to N, --replicas R, --drain-only, --timeout SECONDS, --seed HOST:PORT,\n"
    "  --password-file PATH, --agent-port PORT, --nodes-conf PATH, --batch-keys N,\n"
    "  --batch-slots N, --migrate-timeout-ms MS, --parallel N, and the agent's TLS flags\n"
    "  (--tls, --tls-ca-file, --tls-cert-file, --tls-key-file, --tls-verify,\n"
    "  --peer-host-template). In the agent's container the pod's own AGENT_* variables are the\n"
    "  defaults. README.md, \"Scaling\", says more.\n";

int runScale(const std::vector<std::string>& args) {
  if (std::find_if(args.begin() + std::min<size_t>(2, args.size()), args.end(),
                   [](const std::string& a) { return a == "--help" || a == "-h"; }) != args.end()) {
    std::fputs(kScaleUsage, stdout);
    return kExitOk;
  }
  log::init(log::Format::Text, log::Level::Info);
  auto flags = parseScaleFlags(args);
  if (!flags) {
    std::fprintf(stderr, "redis-cluster-agent scale: %s\n", flags.error().message.c_str());
    return kExitUsage;
  }
  return run(*flags);
}

}  // namespace agent::app
