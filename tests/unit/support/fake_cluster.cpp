// SPDX-License-Identifier: Apache-2.0
#include "support/fake_cluster.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>

#include "cluster/create_plan.h"
#include "common/text.h"

namespace agent::testing {

namespace {

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

bool hasFlag(const std::string& flags, std::string_view flag) {
  for (auto f : text::split(flags, ',')) {
    if (f == flag) return true;
  }
  return false;
}

std::string slotText(const std::vector<nodes_conf::SlotRange>& slots) {
  std::string out;
  for (const auto& r : slots) {
    out += r.first == r.last ? fmt::format(" {}", r.first) : fmt::format(" {}-{}", r.first, r.last);
  }
  return out;
}

int slotCount(const SimNode& n) {
  int total = 0;
  for (const auto& r : n.slots) total += r.count();
  return total;
}

Error serverError(const std::string& message) {
  return fail(Errc::Server, message);
}

}  // namespace

std::string simId(int i) {
  if (i >= 0 && i < 16) return std::string(40, "0123456789abcdef"[i]);
  return fmt::format("{:040x}", i);
}

redis::Reply okReply() {
  return {redis::Reply::Type::Status, "OK", 0, {}};
}

redis::Reply stringReply(const std::string& s) {
  return {redis::Reply::Type::String, s, 0, {}};
}

std::string Sent::text() const {
  return (target == cluster::kLocal ? std::string("local") : std::to_string(target)) + " " +
         join(args);
}

FakeCluster FakeCluster::fresh(int pods) {
  FakeCluster c;
  for (int i = 0; i < pods; ++i) {
    SimNode n;
    n.id = simId(i);
    n.ip = fmt::format("10.0.0.{}", i);
    c.nodes.push_back(n);
    FakePod pod;
    pod.node_id = n.id;
    c.pods.push_back(pod);
  }
  return c;
}

FakeCluster FakeCluster::formed(int pods, int replicas) {
  FakeCluster c = fresh(pods);
  int masters = pods / (replicas + 1);
  auto ranges = cluster::slotRanges(masters);
  for (int i = 0; i < pods; ++i) {
    SimNode& n = c.nodeOf(i);
    n.epoch = static_cast<uint64_t>(i + 1);
    if (i < masters) {
      n.slots = {ranges[static_cast<size_t>(i)]};
    } else {
      n.master = false;
      n.master_id = simId((i - masters) % masters);
    }
  }
  c.meshAll();
  return c;
}

SimNode& FakeCluster::node(const std::string& id) {
  for (auto& n : nodes) {
    if (n.id == id) return n;
  }
  FAIL("unknown node " << id);
  return nodes.front();
}

const SimNode& FakeCluster::node(const std::string& id) const {
  return const_cast<FakeCluster*>(this)->node(id);  // NOLINT: one lookup for both
}

bool FakeCluster::exists(const std::string& id) const {
  return std::any_of(nodes.begin(), nodes.end(), [&](const SimNode& n) { return n.id == id; });
}

void FakeCluster::meshAll() {
  for (auto& a : nodes) {
    for (const auto& b : nodes) {
      if (a.id != b.id) a.knows[b.id] = Seen{};
    }
  }
}

void FakeCluster::move(int ordinal, const std::string& ip) {
  SimNode& moved = nodeOf(ordinal);
  for (auto& n : nodes) {
    auto it = n.knows.find(moved.id);
    if (it != n.knows.end() && !it->second.ip) it->second.ip = moved.ip;
  }
  moved.ip = ip;
}

void FakeCluster::wipe(int ordinal, const std::string& new_id) {
  SimNode& old = nodeOf(ordinal);
  for (auto& n : nodes) {
    auto it = n.knows.find(old.id);
    if (it == n.knows.end()) continue;
    it->second.flags = "fail";
    it->second.connected = false;
  }
  SimNode fresh_node;
  fresh_node.id = new_id;
  fresh_node.ip = old.ip;
  pods[static_cast<size_t>(ordinal)].node_id = new_id;
  nodes.push_back(fresh_node);
}

Seen& FakeCluster::seen(const std::string& viewer, const std::string& id) {
  return node(viewer).knows[id];
}

void FakeCluster::runServer(int ordinal, const std::string& server) {
  SimNode& n = nodeOf(ordinal);
  auto words = text::split(server, ' ');
  bool valkey = words.at(0) == "valkey";
  n.valkey_version = valkey ? std::string(words.at(1)) : "";
  n.redis_version = valkey ? "7.2.4" : std::string(words.at(1));
}

std::string FakeCluster::info(const std::string& id) const {
  const SimNode& n = node(id);
  std::string out = fmt::format("# Server\r\nredis_version:{}\r\n", n.redis_version);
  if (!n.valkey_version.empty()) {
    out += fmt::format("server_name:valkey\r\nvalkey_version:{}\r\n", n.valkey_version);
  }
  out += fmt::format(
      "uptime_in_seconds:100\r\n# Persistence\r\nloading:{}\r\n"
      "# Replication\r\nrole:{}\r\n",
      n.loading ? 1 : 0, n.master ? "master" : "slave");
  if (n.master) {
    int replicas = 0;
    for (const auto& r : nodes) replicas += !r.master && r.master_id == n.id ? 1 : 0;
    out += fmt::format("connected_slaves:{}\r\nmaster_repl_offset:{}\r\n", replicas, n.offset);
  } else {
    std::string host = exists(n.master_id) ? node(n.master_id).ip : "";
    out += fmt::format(
        "master_host:{}\r\nmaster_port:6379\r\nmaster_link_status:{}\r\n"
        "master_sync_in_progress:0\r\nslave_repl_offset:{}\r\nmaster_repl_offset:{}\r\n",
        host, host.empty() ? "down" : "up", n.offset, n.offset);
  }
  if (n.keys > 0) out += fmt::format("# Keyspace\r\ndb0:keys={},expires=0,avg_ttl=0\r\n", n.keys);
  return out;
}

std::string FakeCluster::clusterInfo(const std::string& id) const {
  const SimNode& n = node(id);
  int assigned = n.master ? slotCount(n) : 0;
  int failing = 0;
  int pfail = 0;
  int size = n.master && !n.slots.empty() ? 1 : 0;
  uint64_t epoch = n.epoch;
  for (const auto& [other_id, seen_as] : n.knows) {
    if (!exists(other_id)) continue;
    const SimNode& o = node(other_id);
    epoch = std::max(epoch, o.epoch);
    if (!o.master) continue;
    assigned += slotCount(o);
    size += o.slots.empty() ? 0 : 1;
    if (hasFlag(seen_as.flags, "fail")) failing += slotCount(o);
    if (hasFlag(seen_as.flags, "fail?")) pfail += slotCount(o);
  }
  int ok = assigned - failing - pfail;
  bool full = assigned == nodes_conf::kSlotCount && ok == nodes_conf::kSlotCount;
  return fmt::format(
      "cluster_state:{}\r\ncluster_slots_assigned:{}\r\ncluster_slots_ok:{}\r\n"
      "cluster_slots_pfail:{}\r\ncluster_slots_fail:{}\r\ncluster_known_nodes:{}\r\n"
      "cluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
      n.state.value_or(full ? "ok" : "fail"), assigned, ok, pfail, failing, n.knows.size() + 1,
      size, epoch, n.epoch);
}

std::string FakeCluster::clusterNodes(const std::string& id) const {
  const SimNode& me = node(id);
  auto line = [](const SimNode& n, const std::string& ip, int port, const std::string& flags,
                 bool connected) {
    return fmt::format("{} {}:{}@{} {} {} 0 0 {} {}{}\n", n.id, ip, port,
                       port == 0 ? 0 : port + 10000, flags, n.master ? "-" : n.master_id, n.epoch,
                       connected ? "connected" : "disconnected", n.master ? slotText(n.slots) : "");
  };
  std::string out =
      line(me, me.ip, me.port, std::string("myself,") + (me.master ? "master" : "slave"), true);
  for (const auto& [other_id, s] : me.knows) {
    if (!exists(other_id)) continue;
    const SimNode& o = node(other_id);
    std::string flags =
        std::string(o.master ? "master" : "slave") + (s.flags.empty() ? "" : "," + s.flags);
    bool noaddr = hasFlag(s.flags, "noaddr");
    out += line(o, noaddr ? "" : s.ip.value_or(o.ip), noaddr ? 0 : o.port, flags, s.connected);
  }
  return out;
}

cluster::Snapshot FakeCluster::snapshot(const std::string& id) const {
  const SimNode& n = node(id);
  auto snap = n.loading ? cluster::snapshotFromText(info(id), "", "")
                        : cluster::snapshotFromText(info(id), clusterInfo(id), clusterNodes(id));
  REQUIRE_MESSAGE(snap.has_value(), (snap ? "" : snap.error().message));
  return *snap;
}

cluster::Snapshot FakeCluster::snapshotOf(int ordinal) const {
  return snapshot(pods.at(static_cast<size_t>(ordinal)).node_id);
}

cluster::AgentInfo FakeCluster::agentFor(int ordinal) const {
  const FakePod& pod = pods.at(static_cast<size_t>(ordinal));
  if (pod.agent_override) return *pod.agent_override;
  cluster::AgentInfo a;
  a.ordinal = ordinal;
  a.pod = fmt::format("redis-{}", ordinal);
  a.set = kSet;
  a.node_id = pod.node_id;
  a.node_fresh = pod.node_fresh;
  return a;
}

// The agent whose pod's node is at `ip` (the address a name led to).
std::optional<cluster::AgentInfo> FakeCluster::agentAt(const std::string& ip) const {
  for (size_t i = 0; i < pods.size(); ++i) {
    if (!pods[i].agent_answers || node(pods[i].node_id).ip != ip) continue;
    return agentFor(static_cast<int>(i));
  }
  auto it = agents_elsewhere.find(ip);
  if (it != agents_elsewhere.end()) return it->second;
  return std::nullopt;
}

cluster::PeerProbe FakeCluster::probeOne(int ordinal, Depth depth, bool agent_info) const {
  cluster::PeerProbe p;
  p.ordinal = ordinal;
  p.name = fmt::format("redis-{}.redis-headless.default.svc.cluster.local", ordinal);
  const FakePod& pod = pods[static_cast<size_t>(ordinal)];
  if (!pod.resolves) {
    p.error = fail(Errc::NotFound, p.name + " does not resolve");
    return p;
  }
  p.ip = pod.dns_ip.value_or(node(pod.node_id).ip);
  if (depth == Depth::Resolve) return p;
  // Whatever node is at that address answers (a stale record leads to another pod's node).
  // A pod's node first; else a node no pod runs (another cluster's) at that address.
  const SimNode* at = nullptr;
  bool answers = true;
  for (const auto& other : pods) {
    if (node(other.node_id).ip == p.ip) {
      at = &node(other.node_id);
      answers = other.answers;
    }
  }
  for (const auto& other : nodes) {
    bool runs = std::any_of(pods.begin(), pods.end(),
                            [&](const FakePod& q) { return q.node_id == other.id; });
    if (at == nullptr && !runs && other.ip == p.ip) at = &other;
  }
  if (at == nullptr || !answers) {
    p.error = fail(Errc::Transport, "connection refused");
    return p;
  }
  const SimNode& n = *at;
  if (depth == Depth::Id) {
    if (n.loading) p.error = fail(Errc::Server, "LOADING Redis is loading the dataset in memory");
    if (!n.loading) p.node_id = n.id;
  } else {
    p.snapshot = snapshot(n.id);
    p.node_id = p.snapshot->myId();
    if (p.node_id.empty()) p.error = fail(Errc::Server, "loading its dataset");
  }
  p.server = redis::serverInfoFrom(redis::InfoFields::parse(info(n.id)));
  if (agent_info && p.answering()) {
    p.agent_asked = true;
    p.agent = agentAt(p.ip);
  }
  return p;
}

const std::vector<cluster::PeerProbe>& FakeCluster::probe(const Request& request) {
  requests.push_back(request);
  auto& out = request.depth == Depth::Resolve ? resolved_ : last_;
  out.resize(pods.size());
  std::vector<bool> asked(pods.size(), request.ordinals.empty());
  for (int k : request.ordinals) asked.at(static_cast<size_t>(k)) = true;
  for (size_t i = 0; i < pods.size(); ++i) {
    out[i].ordinal = static_cast<int>(i);
    out[i].name = fmt::format("redis-{}.redis-headless.default.svc.cluster.local", i);
    if (!asked[i] || (pods[i].slow && request.budget_ms >= 0)) {
      out[i].stale = true;
      continue;
    }
    out[i] = probeOne(static_cast<int>(i), request.depth, request.agent_info);
  }
  return out;
}

void FakeCluster::script(std::optional<int> target, const std::string& prefix,
                         Result<redis::Reply> reply, int times) {
  rules_.push_back({target, prefix, std::move(reply), times});
}

std::optional<Result<redis::Reply>> FakeCluster::scripted(int target, const std::string& text) {
  int ordinal = target == cluster::kLocal ? local : target;
  for (auto& r : rules_) {
    if (r.times == 0 || !text::startsWith(text, r.prefix)) continue;
    if (r.target && *r.target != target && *r.target != ordinal) continue;
    if (r.times > 0) --r.times;
    return r.reply;
  }
  return std::nullopt;
}

Result<redis::Reply> FakeCluster::command(int target, const std::vector<std::string>& args) {
  Sent s{target, args};
  sent.push_back(s);
  if (on_command) on_command(s);
  if (auto r = scripted(target, join(args))) return *r;
  int ordinal = target == cluster::kLocal ? local : target;
  if (ordinal < 0 || ordinal >= static_cast<int>(pods.size())) {
    return fail(Errc::Transport, "no such pod");
  }
  const FakePod& pod = pods[static_cast<size_t>(ordinal)];
  if (!pod.resolves || !pod.answers) {
    return fail(Errc::Transport, fmt::format("no connection to redis-{}", ordinal));
  }
  return apply(node(pod.node_id), args);
}

Result<redis::Reply> FakeCluster::apply(SimNode& n, const std::vector<std::string>& args) {
  std::string text = join(args);
  auto is = [&](std::string_view prefix) { return text::startsWith(text, prefix); };
  if (is("CLUSTER MYID")) return stringReply(n.id);
  if (is("INFO")) return stringReply(info(n.id));
  if (is("CLUSTER INFO")) return stringReply(clusterInfo(n.id));
  if (is("CLUSTER NODES")) return stringReply(clusterNodes(n.id));
  if (is("CONFIG GET cluster-node-timeout")) {
    return redis::Reply{
        redis::Reply::Type::Array,
        "",
        0,
        {stringReply("cluster-node-timeout"), stringReply(std::to_string(n.node_timeout_ms))}};
  }
  if (!simulate) return okReply();
  if (is("CONFIG SET cluster-node-timeout")) {
    n.node_timeout_ms = text::parseInt(args.at(3)).value_or(n.node_timeout_ms);
  } else if (is("CLUSTER MEET")) {
    return meet(n, args.at(2));
  } else if (is("CLUSTER ADDSLOTSRANGE")) {
    n.slots.push_back({static_cast<int>(*text::parseInt(args.at(2))),
                       static_cast<int>(*text::parseInt(args.at(3)))});
  } else if (is("CLUSTER SET-CONFIG-EPOCH")) {
    if (!n.knows.empty() || n.epoch != 0) {
      return serverError(
          "ERR The user can assign a config epoch only when the node does not "
          "know any other node.");
    }
    n.epoch = static_cast<uint64_t>(*text::parseInt(args.at(2)));
  } else if (is("CLUSTER REPLICATE")) {
    return replicate(n, args.at(2));
  } else if (is("CLUSTER FORGET")) {
    if (n.knows.erase(args.at(2)) == 0) return serverError("ERR Unknown node " + args.at(2));
  } else if (is("CLUSTER FAILOVER")) {
    if (n.master) return serverError("ERR You should send CLUSTER FAILOVER to a replica");
    failover(n);
  }
  return okReply();
}

Result<redis::Reply> FakeCluster::meet(SimNode& n, const std::string& ip) {
  for (const auto& pod : pods) {
    if (!pod.answers || pod.node_id == n.id) continue;
    SimNode& m = node(pod.node_id);
    if (m.ip != ip) continue;
    n.knows[m.id] = Seen{};
    m.knows[n.id] = Seen{};
  }
  // Like Redis: an address where nobody answers is accepted, its handshake never completes.
  return okReply();
}

Result<redis::Reply> FakeCluster::replicate(SimNode& n, const std::string& master_id) {
  if (master_id == n.id) return serverError("ERR Can't replicate myself");
  if (!n.knows.count(master_id)) return serverError("ERR Unknown node " + master_id);
  if (n.master && (!n.slots.empty() || n.keys > 0)) {
    return serverError("ERR To set a master the node must be empty and without assigned slots.");
  }
  n.master = false;
  n.master_id = master_id;
  return okReply();
}

void FakeCluster::failover(SimNode& n) {
  std::string old_id = n.master_id;
  uint64_t epoch = 0;
  for (const auto& o : nodes) epoch = std::max(epoch, o.epoch);
  n.master = true;
  n.master_id.clear();
  n.epoch = epoch + 1;
  if (!exists(old_id)) return;
  SimNode& old = node(old_id);
  n.slots = old.slots;
  old.slots.clear();
  old.master = false;
  old.master_id = n.id;
  for (auto& r : nodes) {
    if (!r.master && r.master_id == old_id) r.master_id = n.id;
  }
}

std::vector<std::string> FakeCluster::sentTexts() const {
  std::vector<std::string> out;
  for (const auto& s : sent) out.push_back(s.text());
  return out;
}

int FakeCluster::count(const std::string& prefix) const {
  return static_cast<int>(std::count_if(sent.begin(), sent.end(), [&](const Sent& s) {
    return text::startsWith(join(s.args), prefix);
  }));
}

int FakeCluster::count(int target, const std::string& prefix) const {
  return static_cast<int>(std::count_if(sent.begin(), sent.end(), [&](const Sent& s) {
    return s.target == target && text::startsWith(join(s.args), prefix);
  }));
}

}  // namespace agent::testing
