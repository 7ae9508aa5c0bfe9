// SPDX-License-Identifier: Apache-2.0
#include "prepare/prepare.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>
#include <thread>

#include "auth/include_file.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "config/clients.h"
#include "peers/resolver.h"
#include "prepare/shard_guard.h"
#include "redis/connection.h"
#include "statefile/statefile.h"

namespace agent::prepare {

namespace {

const log::Logger kLog("prepare");

std::optional<int> ordinalOf(const nodes_conf::Node& node, const nodes_conf::OrdinalMap& map,
                             int cluster_nodes, const std::function<std::string(int)>& pod_host) {
  if (auto ord = map.ordinalOf(node.id)) return ord;
  // Redis 7.0+ with cluster-announce-hostname set to the pod's DNS name carries it in the file.
  if (!node.address.hostname.empty()) {
    for (int i = 0; i < cluster_nodes; ++i) {
      if (pod_host(i) == node.address.hostname) return i;
    }
  }
  return std::nullopt;
}

// Redis holds flock(LOCK_EX) on nodes.conf while it runs (7.0 writes in place, so the lock is on
// the live inode). A second check asks the Redis address itself, for 7.2+ where the rename
// leaves the lock on an orphaned inode.
Status checkRedisStopped(const config::Config& c) {
  UniqueFd fd(::open(c.nodes_conf.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.isValid() && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    return fail(Errc::Refused,
                fmt::format("{} is locked: a redis-server is running on it; prepare must run "
                            "before redis-server starts",
                            c.nodes_conf));
  }
  if (fd.isValid()) ::flock(fd.get(), LOCK_UN);
  if (redis::Connection::open({c.redis.host, c.redis.port},
                              config::redisOptions(c, std::nullopt))) {
    return fail(Errc::Refused,
                fmt::format("a Redis server answers at {}: prepare must run before redis-server "
                            "starts",
                            c.redis.str()));
  }
  return {};
}

Result<nodes_conf::OrdinalMap> loadOrdinalMap(const std::string& nodes_conf_path) {
  std::string path = statefile::pathBeside(nodes_conf_path, statefile::kOrdinalMap);
  auto text = statefile::read(path);
  if (!text) return text.error();
  if (!*text) return nodes_conf::OrdinalMap{};
  auto map = nodes_conf::OrdinalMap::parse(**text);
  if (!map) {
    // The map is a cache of facts the agent can relearn; a damaged one is ignored, not fatal.
    kLog.warn("Ignoring unreadable ordinal map", {{"path", path}, {"err", map.error().message}});
    return nodes_conf::OrdinalMap{};
  }
  return map;
}

Status writeIncludeFile(const config::Config& c) {
  if (c.include_file.empty()) return {};
  auto password = redis::readPasswordFile(c.redis_password_file);
  if (!password) return password.error();
  if (Status st = files::writeAtomically(c.include_file, renderInclude(*password, c.pod_ip), 0600);
      !st) {
    return st;
  }
  kLog.info("Wrote the redis.conf include",
            {{"path", c.include_file}, {"auth", password->has_value()}});
  return {};
}

void logPlan(const RewritePlan& plan) {
  for (const auto& ch : plan.changes) {
    kLog.info(
        "Rewriting node address",
        {{"node", ch.node_id}, {"from", ch.old_host}, {"to", ch.new_host}, {"reason", ch.reason}});
  }
  for (const auto& k : plan.kept) {
    kLog.warn("Keeping node address unchecked", {{"node", k.node_id}, {"reason", k.why}});
  }
}

// The file prepare reads and rewrites: nodes.conf itself or, when it is a symbolic link made by
// root or by prepare's own user, the link's target. Redis 7.0 writes through such a link
// itself (it rewrites nodes.conf in place), so replacing the link by a file would leave Redis
// and the operator's layout on different files. A link anyone else made is refused: prepare
// often runs as root in a directory Redis' user can write, and following a planted link would
// let that user have any file overwritten.
struct Target {
  std::string path;  // where to read and write
  files::FileInfo info;
};

Result<Target> nodesConfTarget(const config::Config& c) {
  auto info = files::inspect(c.nodes_conf);
  if (!info) return info.error();
  Target t{c.nodes_conf, *info};
  if (info->type != files::FileInfo::Type::Missing &&
      info->type != files::FileInfo::Type::Regular) {
    return fail(Errc::Invalid,
                fmt::format("{} is a {}, not a regular file: Redis cannot keep its cluster state "
                            "there and prepare will not read it; remove it (a fresh node) or put "
                            "the real nodes.conf back; nothing was changed",
                            c.nodes_conf, files::typeName(info->type)));
  }
  if (!info->symlink) return t;
  uid_t me = ::geteuid();
  if (info->link_owner != 0 && info->link_owner != me) {
    return fail(Errc::Refused,
                fmt::format("{} is a symbolic link made by uid {}; prepare (uid {}) follows "
                            "links made only by root or by itself. Replace the link with the "
                            "file, or point --nodes-conf at its target; nothing was changed",
                            c.nodes_conf, info->link_owner, me));
  }
  char real[PATH_MAX];
  if (info->type == files::FileInfo::Type::Missing) return t;  // dangling: nothing to rewrite
  if (::realpath(c.nodes_conf.c_str(), real) == nullptr) {
    return fail(Errc::Io, fmt::format("cannot resolve {}: {}", c.nodes_conf, std::strerror(errno)));
  }
  t.path = real;
  kLog.info("nodes.conf is a symbolic link; reading and writing its target",
            {{"path", c.nodes_conf}, {"target", t.path}});
  return t;
}

Status writeKeepingOwner(const std::string& path, std::string_view content,
                         const files::FileInfo& like) {
  bool kept = true;
  if (Status st = files::writeAtomicallyLike(path, content, like, &kept); !st) return st;
  if (!kept) {
    kLog.warn(
        "Cannot keep the owner of the file (prepare is not root): it now belongs to "
        "prepare's user",
        {{"path", path}, {"owner", like.uid}, {"uid", ::geteuid()}});
  }
  return {};
}

// Valkey 8.0.1 writes files it then refuses to load (a replica's shard-id not its primary's);
// giving the replica its primary's shard-id is what later releases do at load. Returns how
// many lines changed.
size_t repairShardIds(nodes_conf::NodesConf& conf) {
  auto repairs = conf.adoptPrimaryShardIds();
  for (const auto& r : repairs) {
    kLog.info(
        "Giving a replica its primary's shard-id (Valkey 8.0.1 refuses to load a file in "
        "which they differ)",
        {{"replica", r.replica_id},
         {"had", r.had.value_or("(none)")},
         {"primary", r.primary_id},
         {"shard_id", r.shard_id}});
  }
  return repairs.size();
}

Result<Outcome> rewriteNodesConf(const config::Config& c, const Target& target,
                                 peers::Resolver& resolver, RewritePlan& plan_out,
                                 std::optional<nodes_conf::NodesConf>& conf_out) {
  auto text = files::read(target.path);
  if (!text) return text.error();
  auto conf = nodes_conf::parse(*text);
  if (!conf) {
    return fail(Errc::Invalid,
                fmt::format("{}: {}; nothing was changed", c.nodes_conf, conf.error().message));
  }
  for (const auto& w : conf->warnings()) kLog.warn("nodes.conf content kept as is", {{"what", w}});
  auto map = loadOrdinalMap(c.nodes_conf);
  if (!map) return map.error();
  auto pod_host = [&](int ord) { return c.peerHost(ord); };
  auto resolve = [&](int ord) -> Result<std::string> {
    if (c.peer_host_template.empty()) return fail(Errc::Invalid, "no --peer-host-template");
    return resolver.resolve(c.peerHost(ord), c.pod_ip);
  };
  // Only pods of the StatefulSet's current size are waited for: a scaled-in pod's name never
  // comes back.
  auto patient = withDnsWait(resolve, c.dns_wait_ms);
  auto resolve_current = [&](int ord) {
    return ord < c.cluster_nodes ? patient(ord) : resolve(ord);
  };
  plan_out = planRewrite(*conf, *map, c.pod_ip, c.cluster_nodes, pod_host, resolve_current);
  logPlan(plan_out);
  conf_out = *conf;
  auto shard_repairs = repairShardIds(*conf);
  if (plan_out.changes.empty() && shard_repairs == 0) {
    kLog.info("nodes.conf already has every address it can check", {{"path", c.nodes_conf}});
    return Outcome::Unchanged;
  }
  for (const auto& ch : plan_out.changes) conf->setHost(ch.index, ch.new_host);
  // Owner, group and mode of the original, so Redis' user can still open and lock both.
  if (Status st = writeKeepingOwner(c.nodes_conf + ".bak", *text, target.info); !st) {
    return st.error();
  }
  if (Status st = writeKeepingOwner(target.path, conf->render(), target.info); !st) {
    return st.error();
  }
  kLog.info("Rewrote nodes.conf", {{"path", target.path},
                                   {"changed", plan_out.changes.size()},
                                   {"shard_ids", shard_repairs},
                                   {"backup", c.nodes_conf + ".bak"}});
  return Outcome::Rewritten;
}

Status refuseDataWithoutNodesConf(const config::Config& c, const char* state) {
  auto data = dataFilesIn(c.data_dir);
  if (data.empty()) return {};
  return fail(Errc::Refused,
              fmt::format("{} is {} but {} holds data ({}): Redis would start as a new node "
                          "with a new ID and claim slots for those keys. Restore nodes.conf "
                          "(or {}.bak), or move the data away if it is not needed; nothing was "
                          "changed",
                          c.nodes_conf, state, c.data_dir, data.front(), c.nodes_conf));
}

}  // namespace

std::vector<std::string> dataFilesIn(const std::string& data_dir) {
  std::vector<std::string> found;
  for (const char* name : {"dump.rdb", "appendonly.aof", "appendonlydir"}) {
    std::string path = data_dir + "/" + name;
    if (files::exists(path)) found.push_back(path);
  }
  return found;
}

std::string renderInclude(const std::optional<std::string>& password,
                          const std::string& announce_ip) {
  std::string out = "# Written by redis-cluster-agent prepare. Do not edit.\n";
  if (!announce_ip.empty()) out += "cluster-announce-ip " + announce_ip + "\n";
  if (!password) return out;
  // redis.conf reads double-quoted strings with C-like escapes, so any byte survives.
  std::string quoted = auth::quoteConfigValue(*password);
  out += "requirepass " + quoted + "\n";
  out += "masterauth " + quoted + "\n";
  return out;
}

ResolveOrdinal withDnsWait(ResolveOrdinal resolve, int64_t wait_ms, int64_t retry_ms) {
  auto deadline = std::make_shared<int64_t>(0);  // set at the first miss
  return [=](int ordinal) -> Result<std::string> {
    while (true) {
      auto ip = resolve(ordinal);
      // NotFound: no record yet; Io: the resolver failed for now (EAI_AGAIN). Anything else
      // will not change by waiting.
      if (ip || (ip.error().code != Errc::NotFound && ip.error().code != Errc::Io)) return ip;
      int64_t now = monotonicMs();
      if (*deadline == 0) {
        *deadline = now + wait_ms;
        if (wait_ms > 0) {
          kLog.info("Waiting for peer names to resolve",
                    {{"at_most_ms", std::to_string(wait_ms)}, {"first", ip.error().message}});
        }
      }
      if (now >= *deadline) return ip;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(retry_ms, *deadline - now)));
    }
  };
}

RewritePlan planRewrite(const nodes_conf::NodesConf& conf, const nodes_conf::OrdinalMap& map,
                        const std::string& my_ip, int cluster_nodes,
                        const std::function<std::string(int)>& pod_host,
                        const ResolveOrdinal& resolve) {
  RewritePlan plan;
  const auto& nodes = conf.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    if (node.isMyself()) {
      if (!my_ip.empty() && node.address.host != my_ip) {
        plan.changes.push_back({i, node.id, node.address.host, my_ip, "this pod's IP"});
      }
      continue;
    }
    auto ordinal = ordinalOf(node, map, cluster_nodes, pod_host);
    if (!ordinal) {
      plan.kept.push_back({node.id, "its pod is not known yet (no ordinal learned)"});
      continue;
    }
    auto ip = resolve(*ordinal);
    if (!ip) {
      plan.kept.push_back(
          {node.id, fmt::format("pod {}: {}", pod_host(*ordinal), ip.error().message)});
      continue;
    }
    if (*ip != node.address.host) {
      plan.changes.push_back({i, node.id, node.address.host, *ip,
                              fmt::format("current IP of {}", pod_host(*ordinal))});
    }
  }
  return plan;
}

Result<Report> run(const config::Config& c, peers::Resolver& resolver) {
  auto target = nodesConfTarget(c);
  if (!target) return target.error();
  if (Status st = checkRedisStopped(c); !st) return st.error();
  Report report;
  bool missing = target->info.type == files::FileInfo::Type::Missing;
  if (missing || target->info.size == 0) {
    // Redis treats a 0-byte file as no file (it starts as a new node); one is left behind
    // when Redis failed to write it on a full disk. With data beside it, that is refused.
    const char* state = missing ? "missing" : "empty (0 bytes)";
    if (Status st = refuseDataWithoutNodesConf(c, state); !st) return st.error();
    kLog.info("No nodes.conf content and no data: a fresh node, nothing to repair",
              {{"path", c.nodes_conf}, {"file", state}});
    report.outcome = Outcome::FreshNode;
  } else {
    std::optional<nodes_conf::NodesConf> conf;
    auto outcome = rewriteNodesConf(c, *target, resolver, report.plan, conf);
    if (!outcome) return outcome.error();
    report.outcome = *outcome;
    if (Status st = guardShardData(c, *conf, resolver); !st) return st.error();
  }
  if (Status st = writeIncludeFile(c); !st) return st.error();
  return report;
}

}  // namespace agent::prepare
