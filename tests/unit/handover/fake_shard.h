// SPDX-License-Identifier: Apache-2.0
// Test helper: a small cluster described by a few fields per node, rendered into the INFO,
// CLUSTER INFO and CLUSTER NODES text each node would answer with, so handover tests work on
// snapshots parsed exactly like live ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/snapshot.h"

namespace agent::testing {

struct FakeNode {
  std::string id;
  std::string ip;
  bool master = true;
  std::string follows;     // the master's ID, for a replica
  std::string slots;       // "0-5460", or empty
  std::string seen_flags;  // extra flags others see, e.g. ",fail?"
  std::string link = "connected";
  int64_t offset = 100;               // master_repl_offset / slave_repl_offset
  bool link_up = true;                // replica: master_link_status
  bool syncing = false;               // replica: master_sync_in_progress
  std::string repl_state = "online";  // how its master's INFO lists it
  bool listed_by_master = true;       // its master's INFO has a slaveN line for it
  int64_t auth_req_sent = 0;          // elections it started
  bool loading = false;
  std::string redis_version = "7.0.15";  // INFO server
};

struct FakeShard {
  std::vector<FakeNode> nodes;

  // A master (index 0, slots 0-5460) with `replicas` replicas (indexes 1..), all in sync,
  // plus one other master (last index) so CLUSTER NODES looks like a real cluster.
  static FakeShard make(int replicas);
  size_t indexOf(const std::string& id) const;
  std::string info(size_t i) const;
  std::string clusterInfo(size_t i) const;
  std::string clusterNodes(size_t viewer) const;
  cluster::Snapshot snapshot(size_t i) const;
  // Replica `r` becomes the master of its master's slots; the old master follows it, unless
  // `old_hears` is false (then both claim the slots until demote()).
  void promote(size_t r, bool old_hears = true);
  // The node that lost its slots to `new_master` follows it.
  void demote(size_t old, size_t new_master);
};

// A 40-character node ID made of one repeated hex digit.
std::string nodeId(char digit);

}  // namespace agent::testing
