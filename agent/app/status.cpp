// SPDX-License-Identifier: Apache-2.0
#include "app/status.h"

#include <fmt/format.h>
#include <cstdio>
#include <map>

#include "app/commands.h"
#include "common/log.h"
#include "peers/resolver.h"
#include "redis/connection.h"

namespace agent::app {

namespace {

// One row of the table: a pod as its own node describes itself.
struct Row {
  std::string pod, id, address, role, master, slots, link, flags, lag;
};

std::string slotText(const nodes_conf::Node& n) {
  std::string out;
  for (const auto& r : n.slots) {
    if (!out.empty()) out += ",";
    out += r.first == r.last ? std::to_string(r.first) : fmt::format("{}-{}", r.first, r.last);
  }
  return out.empty() ? "-" : out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (s == "myself") continue;
    if (!out.empty()) out += ",";
    out += s;
  }
  return out.empty() ? "-" : out;
}

Row rowFor(const cluster::PeerProbe& p,
           const std::map<std::string, const cluster::PeerProbe*>& ids) {
  Row r{p.pod(), "-", p.ip.empty() ? "-" : p.ip, "?", "-", "-", "-", "-", "-"};
  if (!p.snapshot || !p.snapshot->myself()) {
    r.link = p.error ? p.error->message : "unreachable";
    if (p.snapshot && p.snapshot->loading) r.link = "loading";
    return r;
  }
  const auto& s = *p.snapshot;
  const auto& me = *s.myself();
  r.id = me.id.substr(0, 8);
  r.address = me.address.endpoint();
  r.role = me.isMaster() ? "master" : "replica";
  r.slots = slotText(me);
  r.flags = joined(me.flags);
  if (me.isMaster()) r.flags = r.flags == "master" ? "-" : r.flags;
  if (me.isReplica()) {
    auto it = ids.find(me.master_id);
    r.master = it != ids.end() ? it->second->pod() : me.master_id.substr(0, 8);
    r.link = s.info.str("master_link_status", "?");
    if (it != ids.end() && it->second->snapshot) {
      int64_t master_off = it->second->snapshot->info.integerOr("master_repl_offset", 0);
      int64_t my_off = s.info.integerOr("slave_repl_offset", 0);
      r.lag = fmt::format("{}", master_off > my_off ? master_off - my_off : 0);
    }
  } else {
    r.link = s.clusterOk() ? "ok" : "fail";
  }
  return r;
}

std::map<std::string, const cluster::PeerProbe*> indexById(
    const std::vector<cluster::PeerProbe>& pods) {
  std::map<std::string, const cluster::PeerProbe*> ids;
  for (const auto& p : pods) {
    if (p.answering()) ids[p.node_id] = &p;
  }
  return ids;
}

std::string jsonString(const std::string& s) {
  return "\"" + log::jsonEscape(s) + "\"";
}

}  // namespace

std::string renderStatusTable(const std::vector<cluster::PeerProbe>& pods,
                              const cluster::Health& health) {
  auto ids = indexById(pods);
  std::vector<Row> rows;
  rows.push_back({"POD", "NODE", "ADDRESS", "ROLE", "MASTER", "SLOTS", "LINK", "FLAGS", "LAG"});
  for (const auto& p : pods) rows.push_back(rowFor(p, ids));
  std::vector<size_t> width(9, 0);
  auto cells = [](const Row& r) {
    return std::vector<const std::string*>{&r.pod,   &r.id,   &r.address, &r.role, &r.master,
                                           &r.slots, &r.link, &r.flags,   &r.lag};
  };
  for (const auto& r : rows) {
    auto c = cells(r);
    for (size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i]->size());
  }
  std::string out;
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
  return out;
}

std::string renderStatusJson(const std::vector<cluster::PeerProbe>& pods,
                             const cluster::Health& health) {
  auto ids = indexById(pods);
  std::string out = fmt::format("{{\"healthy\":{},\"problems\":[", health.healthy);
  for (size_t i = 0; i < health.problems.size(); ++i) {
    out += (i ? "," : "") + jsonString(health.problems[i]);
  }
  out += "],\"warnings\":[";
  for (size_t i = 0; i < health.warnings.size(); ++i) {
    out += (i ? "," : "") + jsonString(health.warnings[i]);
  }
  out += "],\"pods\":[";
  for (size_t i = 0; i < pods.size(); ++i) {
    Row r = rowFor(pods[i], ids);
    out += fmt::format(
        "{}{{\"ordinal\":{},\"pod\":{},\"ip\":{},\"nodeId\":{},\"role\":{},\"master\":{},"
        "\"slots\":{},\"link\":{},\"flags\":{},\"lagBytes\":{}}}",
        i ? "," : "", pods[i].ordinal, jsonString(r.pod), jsonString(pods[i].ip),
        jsonString(pods[i].node_id), jsonString(r.role), jsonString(r.master), jsonString(r.slots),
        jsonString(r.link), jsonString(r.flags), r.lag == "-" ? "null" : r.lag);
  }
  out += "]}\n";
  return out;
}

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
  std::vector<std::string> names;
  for (int i = 0; i < c.cluster_nodes; ++i) names.push_back(c.peerHost(i));
  redis::ConnectOptions opts{c.redis_timeout_ms, c.redis_timeout_ms, *password};
  cluster::PeerPool pool({c.cluster_nodes, c.redis.port, c.pod_ip, opts}, resolver, names);
  auto pods = pool.probeAll(cluster::PeerPool::Depth::Snapshot);
  auto health = cluster::assess(pods, c.cluster_replicas);
  std::string text = c.json ? renderStatusJson(pods, health) : renderStatusTable(pods, health);
  std::fputs(text.c_str(), stdout);
  return health.healthy ? kExitOk : kExitFailure;
}

}  // namespace agent::app
