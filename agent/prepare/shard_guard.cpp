// SPDX-License-Identifier: Apache-2.0
#include "prepare/shard_guard.h"

#include <fmt/format.h>

#include <optional>

#include "cluster/commands.h"
#include "cluster/peer_pool.h"
#include "common/log.h"
#include "config/clients.h"
#include "prepare/prepare.h"
#include "redis/connection.h"

namespace agent::prepare {

namespace {

const log::Logger kLog("prepare");

bool overlaps(const std::vector<nodes_conf::SlotRange>& a,
              const std::vector<nodes_conf::SlotRange>& b) {
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (x.first <= y.last && y.first <= x.last) return true;
    }
  }
  return false;
}

// What the live pods say about this node's shard.
struct ShardView {
  const cluster::PeerProbe* new_owner = nullptr;     // a master that owns our slots now
  const cluster::PeerProbe* best_replica = nullptr;  // answering replica with most data
  bool replica_known = false;                        // any view lists a replica of ours
};

ShardView inspect(const std::vector<cluster::PeerProbe>& pods, const nodes_conf::Node& me) {
  ShardView v;
  int64_t best_offset = -1;
  for (const auto& p : pods) {
    if (!p.snapshot || !p.snapshot->myself() || p.node_id == me.id) continue;
    const auto& self = *p.snapshot->myself();
    if (self.isMaster() && overlaps(self.slots, me.slots)) v.new_owner = &p;
    if (self.isReplica() && self.master_id == me.id) {
      int64_t offset = p.snapshot->info.integerOr("slave_repl_offset", 0);
      if (offset > best_offset) {
        best_offset = offset;
        v.best_replica = &p;
      }
    }
    for (const auto& n : p.snapshot->nodes->nodes()) v.replica_known |= n.master_id == me.id;
  }
  return v;
}

void logStart(const GuardDecision& d, const nodes_conf::Node& me) {
  switch (d.kind) {
    case GuardDecision::Kind::OwnerElsewhere:
      kLog.info(
          "The slots of this node are served by another master now; Redis may start and "
          "will follow it",
          {{"owner", d.pod->pod()}});
      return;
    case GuardDecision::Kind::NoReplica:
      kLog.warn("No replica of this node exists: the shard's data is lost; starting it empty",
                {{"node", me.id}});
      return;
    case GuardDecision::Kind::ReplicaEmpty:
      kLog.warn("The replica holds no data either; nothing to protect, starting as before",
                {{"replica", d.pod->pod()}});
      return;
    case GuardDecision::Kind::Wait: return;
  }
}

}  // namespace

GuardDecision decideShardGuard(const std::vector<cluster::PeerProbe>& pods,
                               const nodes_conf::NodesConf& conf) {
  const auto& me = conf.myself();
  ShardView v = inspect(pods, me);
  if (v.new_owner != nullptr) return {GuardDecision::Kind::OwnerElsewhere, v.new_owner};
  bool listed_in_file = false;
  for (const auto& n : conf.nodes()) listed_in_file |= n.master_id == me.id;
  // nodes.conf is saved on every change, so it names every replica this master had.
  if (!listed_in_file && !v.replica_known) return {GuardDecision::Kind::NoReplica, nullptr};
  if (v.best_replica != nullptr && v.best_replica->snapshot->keys == 0) {
    return {GuardDecision::Kind::ReplicaEmpty, v.best_replica};
  }
  return {GuardDecision::Kind::Wait, v.best_replica};
}

Status awaitTakeover(const GuardOptions& o, const nodes_conf::NodesConf& conf, cluster::Pods& pods,
                     Clock& clock) {
  const auto& me = conf.myself();
  int64_t deadline = clock.monotonicMs() + o.takeover_timeout_ms;
  std::optional<int64_t> last_force;
  while (true) {
    auto probes = pods.probeAll(cluster::Pods::Depth::Snapshot, o.probe_budget_ms);
    GuardDecision d = decideShardGuard(probes, conf);
    if (d.kind != GuardDecision::Kind::Wait) {
      logStart(d, me);
      return {};
    }
    int64_t now = clock.monotonicMs();
    if (d.pod != nullptr && (!last_force || now - *last_force >= kGuardRetryForceMs)) {
      kLog.info("Asking the replica to take over", {{"replica", d.pod->pod()},
                                                    {"command", "CLUSTER FAILOVER FORCE"},
                                                    {"reason", "this master has no data"}});
      if (Status st = cluster::forceTakeover(pods, d.pod->ordinal); !st) {
        kLog.warn("CLUSTER FAILOVER FORCE failed", {{"err", st.error().message}});
      }
      last_force = now;
    }
    if (now >= deadline) {
      return fail(Errc::Refused,
                  fmt::format("node {} owns {} slots but has no data, and no replica took them "
                              "over within {} ms; starting it would replace the replica's data "
                              "with nothing",
                              me.id, me.slotCount(), o.takeover_timeout_ms));
    }
    clock.sleepMs(kGuardPollMs);
  }
}

Status guardShardData(const config::Config& c, const nodes_conf::NodesConf& conf,
                      peers::Resolver& resolver) {
  const auto& me = conf.myself();
  if (!me.isMaster() || me.slots.empty() || !dataFilesIn(c.data_dir).empty()) return {};
  kLog.warn(
      "This node owns slots but has no data files: its replica takes over before Redis "
      "starts, so the shard keeps its data",
      {{"node", me.id}, {"slots", me.slotCount()}});
  if (c.peer_host_template.empty()) {
    return fail(Errc::Refused,
                "a master without data needs --peer-host-template to find its "
                "replica; refusing to start it as the owner of its slots");
  }
  auto password = redis::readPasswordFile(c.redis_password_file);
  if (!password) return password.error();
  cluster::PeerPool pool(config::peerPoolOptions(c, *password), resolver, c.peerHosts());
  return awaitTakeover({c.takeover_timeout_ms, 2 * c.redis_timeout_ms}, conf, pool, systemClock());
}

}  // namespace agent::prepare
