// SPDX-License-Identifier: Apache-2.0
// The handover: before a master's pod stops, make its most caught-up replica the master with a
// manual CLUSTER FAILOVER and wait, bounded, until roles have switched. A forced failover
// follows only when it cannot lose writes (see forceFallback in handover.cpp); TAKEOVER never.
// Decisions live in plan.h; this file drives Redis through the Environment interface so unit
// tests can script the nodes and the clock. Depends on cluster/ and redis/ only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/snapshot.h"
#include "common/result.h"
#include "redis/connection.h"

namespace agent::handover {

// One Redis node as the handover drives it. Used by one thread.
class Node {
 public:
  virtual ~Node() = default;
  virtual Result<cluster::Snapshot> snapshot() = 0;
  // One command; an error reply is Errc::Server.
  virtual Result<redis::Reply> command(const std::vector<std::string>& args) = 0;
};

// Connections and time, injected so tests neither connect nor sleep.
class Environment {
 public:
  virtual ~Environment() = default;
  virtual Result<std::unique_ptr<Node>> open(const std::string& host, int port) = 0;
  virtual int64_t nowMs() = 0;
  virtual void sleepMs(int64_t ms) = 0;
};

// The TLS server name to verify for a node at `host` (empty: the chain only).
using ServerNameFor = std::function<std::string(const std::string& host)>;

// Real Redis connections with `connect` (timeouts, password, TLS), the steady clock. With TLS
// and `name_for`, each node's certificate must be valid for the name it gives.
std::unique_ptr<Environment> redisEnvironment(redis::ConnectOptions connect,
                                              ServerNameFor name_for = {});

struct Options {
  std::string local_host;  // the local Redis, i.e. the master that is about to stop
  int local_port = 6379;
  int64_t timeout_ms = 20000;  // the whole handover, forced attempt included
  int64_t poll_ms = 20;        // how often roles and offsets are re-read while waiting
  bool allow_force = true;
  // After the switch, wait until this node has answered no MOVED for drain_quiet_ms (clients
  // still sending it this shard's keys), at most drain_max_ms; 0: return at once.
  int64_t drain_max_ms = 0;
  int64_t drain_quiet_ms = 300;
  int64_t drain_min_ms = 0;  // and never shorter than this
};

struct Outcome {
  enum class Kind { HandedOver, Skipped, Failed };
  Kind kind = Kind::Failed;
  std::string message;
  bool forced = false;     // roles switched by CLUSTER FAILOVER FORCE
  int64_t elapsed_ms = 0;  // from the request until roles switched or it gave up
  int64_t drain_ms = 0;    // then, how long clients were still redirected (Options::drain_*)
  int64_t redirected = 0;  // MOVED answers this node gave meanwhile
};

// Called with one human-readable line per step, as it happens.
using Progress = std::function<void(const std::string& step)>;

// Runs one handover against the local node. Waits at most options.timeout_ms, plus the Redis
// timeout of the command in flight when it runs out. Idempotent: a node that has already handed
// over is a replica, so a repeated call (preStop hooks run at least once) skips.
Outcome run(Environment& env, const Options& options, const Progress& progress);

// How long a preStop lets clients find the new master through this node's MOVED answers (a
// client whose map still names this node learns of the switch from its next command here; once
// the node is gone it learns it from connection errors, and redis-py retries a dead address for
// 1 s before it refreshes its map). The production values of Options::drain_*.
// A client may come back to a key of this node some time after its first MOVED (redis-py 4.3.4
// did so up to ~0.6 s after the switch over TLS, after the node had answered no MOVED for
// 300 ms), hence the minimum.
inline constexpr int64_t kDrainMaxMs = 2500;
inline constexpr int64_t kDrainQuietMs = 300;
inline constexpr int64_t kDrainMinMs = 1000;

// Redis abandons a manual failover after 5 s (CLUSTER_MF_TIMEOUT; docs/redis-facts.md, "Manual
// failover"); one more second lets the new configuration reach the old master.
inline constexpr int64_t kAttemptMs = 6000;
// While a replica is in its first sync the handover waits for it, polling this often, until
// only this much of its budget is left: one default attempt and a forced one still fit.
inline constexpr int64_t kSyncPollMs = 100;
inline constexpr int64_t kSyncReserveMs = kAttemptMs + 1500;
// Least budget left for a forced attempt to be worth pausing writes for.
inline constexpr int64_t kForceNeededMs = 1500;

}  // namespace agent::handover
