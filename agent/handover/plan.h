// SPDX-License-Identifier: Apache-2.0
// The handover's decisions, kept pure so they can be tested on recorded snapshots: whether this
// node has a master role to hand over, which replica should take it, when the replica is ready,
// when roles have switched, and when a forced failover is still safe. No I/O, no logging.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/snapshot.h"
#include "redis/info.h"

namespace agent::handover {

// One "slaveN:ip=...,port=...,state=online,offset=...,lag=..." field of a master's INFO.
struct ReplicaLink {
  std::string ip;
  int port = 0;
  std::string state;   // "online" once the initial sync is done
  int64_t offset = 0;  // replication offset the replica last acknowledged
  int64_t lag = 0;     // seconds since its last acknowledgement
};

std::optional<ReplicaLink> parseReplicaLink(std::string_view value);
// Every slaveN field of `info`, in N order.
std::vector<ReplicaLink> replicaLinks(const redis::InfoFields& info);

// A replica that may take over, as the master sees it.
struct Candidate {
  std::string id;
  std::string host;
  int port = 0;
  int64_t offset = 0;  // acknowledged replication offset
  int64_t lag = 0;
  std::string describe() const;  // "node 1a2b3c4d at 10.0.0.5:6379"
};

struct Decision {
  bool hand_over = false;
  std::string reason;  // why not; or what the master looks like when it will
  std::string my_id;
  std::vector<Candidate> candidates;  // most caught up first
  // Replicas the master lists as working whose replication link is not online yet: they are
  // in their first sync (or about to start it) and may take over once it is done.
  std::vector<std::string> syncing;
};

// Decides from the local node's own snapshot. No handover for a replica, a master without
// slots, a node that is loading, or a master without a healthy replica; a replica is healthy
// when the master lists it in CLUSTER NODES (connected, not failing, with an address) and has
// an online replication link from its address. Candidates are ordered by acknowledged offset
// (highest first), then lag, then node ID, so equal inputs always give the same choice.
Decision decide(const cluster::Snapshot& local);

// Why `replica`, by its own snapshot, cannot take over from `master_id` right now; nullopt when
// it can (a replica of that master, link up, not syncing, not seeing the master fail).
std::optional<std::string> replicaProblem(const cluster::Snapshot& replica,
                                          const std::string& master_id);

// True when `replica`, by its own snapshot, is a replica of `master_id` (or loading) that is
// still getting its data: link down, a sync in progress, or the dataset loading after it.
bool midSync(const cluster::Snapshot& replica, const std::string& master_id);

// True once `new_master` is a master with slots and `old_master` follows it, each in its own view.
bool rolesSwitched(const cluster::Snapshot& old_master, const cluster::Snapshot& new_master,
                   const std::string& new_master_id);

// True when the replica has everything the master has written: offsets are equal and its link
// is up. Only meaningful while the master's writes are paused.
bool caughtUp(const cluster::Snapshot& master, const cluster::Snapshot& replica);

// Failover elections the replica has started so far (its auth-req messages sent).
int64_t electionsStarted(const cluster::Snapshot& replica);

struct ForceCheck {
  int64_t elections_before = 0;  // electionsStarted() before the default attempt
  int64_t elections_after = 0;   // ... and after it failed
  int64_t remaining_ms = 0;      // time left in the handover budget
  int64_t needed_ms = 0;         // least time a forced attempt needs
};

// Why a forced failover must not follow a failed default attempt; nullopt when it may. An
// election that already ran for this shard means masters that voted will not vote again for
// 2 x cluster-node-timeout, so a forced retry inside the budget could only fail.
std::optional<std::string> forceBlocker(const ForceCheck& check);

}  // namespace agent::handover
