// SPDX-License-Identifier: Apache-2.0
// The agent's published state: a snapshot the loop replaces after every pass and that probes
// and metrics read without ever waiting on Redis. Readers get a shared_ptr to an immutable
// view, so a probe costs one mutex-protected pointer copy. Below both app/ (which publishes it)
// and metrics/ (which renders it); depends on the modules whose results it carries.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/rotation.h"
#include "cluster/creator.h"
#include "cluster/peer_pool.h"
#include "cluster/snapshot.h"
#include "cluster/stranded.h"
#include "common/counters.h"
#include "layout/keeper.h"
#include "layout/reshape.h"
#include "prepare/record.h"
#include "probes/check.h"
#include "redis/server_info.h"

namespace agent::state {

// What the agent is busy with, for the phase metric and the "stuck" alerts.
enum class Phase {
  Starting,         // no loop pass finished yet
  WaitingForRedis,  // the local Redis does not answer
  Loading,          // the local Redis loads its dataset
  Bootstrapping,    // the node is not part of a formed cluster yet (or ordinal 0 creates it)
  Blocked,          // creation refused: a node is not empty (reason in the log)
  Unsupported,      // the local server is older than the agent supports: it does not act
  Healing,          // repairs are pending (set by the healer)
  Running,          // part of the cluster, nothing to do
  Stopping,
};
inline constexpr Phase kPhases[] = {
    Phase::Starting,      Phase::WaitingForRedis, Phase::Loading,
    Phase::Bootstrapping, Phase::Blocked,         Phase::Unsupported,
    Phase::Healing,       Phase::Running,         Phase::Stopping};
inline const char* phaseName(Phase p) {
  switch (p) {
    case Phase::Starting: return "starting";
    case Phase::WaitingForRedis: return "waiting_for_redis";
    case Phase::Loading: return "loading";
    case Phase::Bootstrapping: return "bootstrapping";
    case Phase::Blocked: return "blocked";
    case Phase::Unsupported: return "unsupported_server";
    case Phase::Healing: return "healing";
    case Phase::Running: return "running";
    case Phase::Stopping: return "stopping";
  }
  return "unknown";
}

// The password rotation as this agent sees it (app/password_rotation.h).
struct RotationView {
  bool enabled = false;              // a password file is configured
  auth::Report report;               // this node's phase and target, what /peerinfo serves
  std::vector<std::string> waiting;  // what the next step waits for, one line per pod
  int64_t grace_left_ms = 0;         // every pod switched: time left before the old goes
  int64_t started_ms = 0;            // monotonic, when this rotation began here; 0 = none
};

// One mounted certificate file and when its first certificate expires (TLS on).
struct TlsCertificate {
  std::string file;  // "cert" (the agent's and Redis' certificate) or "ca"
  std::string path;
  int64_t not_after_unix = 0;  // 0: unreadable
};

// Where the cluster stands against the shape this agent follows (layout/reshape.h).
struct ReshapeView {
  int shape_nodes = 0;
  int shape_replicas = 0;
  layout::Reshape now;
  layout::ReshapeProgress::Sample progress;  // of the scale running now; zeros when none
};

struct StateView {
  int64_t started_ms = 0;       // monotonic, when the agent started
  int64_t updated_ms = 0;       // monotonic, end of the last loop pass
  int64_t updated_unix_ms = 0;  // the same moment, wall clock (for metrics)
  int64_t passes = 0;           // loop passes finished; 0 before the first
  int64_t pass_ms = 0;          // how long the last pass took
  bool redis_reachable = false;
  std::string redis_error;                  // why the local Redis did not answer
  bool redis_timed_out = false;             // ... because it did not answer in time (vs refused)
  bool redis_answered = false;              // ... though it answered (with an error reply)
  std::optional<cluster::Snapshot> local;   // the local Redis, absent when unreachable
  std::optional<redis::ServerInfo> server;  // the local Redis' name and version, once read
  std::string unsupported_server;           // why the agent does not act on it ("" when it does)
  bool node_fresh = false;  // the local node started in this pod without an earlier nodes.conf
  // The peers, as the local view shows them: pods whose node it sees linked and without a
  // failure flag (this pod included); pods the agent looks at directly (cluster/attention.h);
  // pods whose name led to another pod or StatefulSet at their last look; nodes refused as not
  // provably of this cluster.
  int64_t peers_answering = 0;
  int64_t peers_watched = 0;
  int64_t identity_conflicts = 0;
  int64_t nodes_refused = 0;
  int64_t dns_lookups = 0;      // name lookups of peer pods so far (the cost of watching)
  int64_t peer_probes = 0;      // Redis probes of peer pods so far
  bool creator_active = false;  // this agent is ordinal 0 and creation is not done
  cluster::CreatePhase create_phase = cluster::CreatePhase::WaitingForPeers;
  bool healing = false;          // the healer has repairs pending
  int64_t unexpected_nodes = 0;  // cluster nodes that are no pod of the StatefulSet (kept)
  layout::Report layout;         // the layout keeper's plan and state
  bool stopping = false;
  Phase phase = Phase::Starting;
  std::vector<probes::Check> readiness;       // debounced, as /readyz reports them
  std::optional<int64_t> master_repl_offset;  // replicas: their master's offset, this pass
  CounterValues<Action> actions;              // Activity counters when the view was made
  CounterValues<ErrorKind> errors;
  prepare::Record prepare;         // what prepare recorded beside nodes.conf
  int64_t nodes_conf_changes = 0;  // changes the watcher reported
  bool watching = false;           // the nodes.conf directory is watched (else polling only)
  RotationView rotation;
  // Failed masters whose pods are gone with no replica to take over (cluster/stranded.h).
  std::vector<cluster::Stranded> stranded;
  ReshapeView reshape;
  std::vector<TlsCertificate> tls_certificates;  // empty with TLS off
};

class StateStore {
 public:
  void publish(std::shared_ptr<const StateView> view) {
    std::lock_guard lock(mu_);
    view_ = std::move(view);
  }
  std::shared_ptr<const StateView> get() const {
    std::lock_guard lock(mu_);
    return view_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const StateView> view_ = std::make_shared<StateView>();
};

}  // namespace agent::state
