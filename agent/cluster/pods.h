// SPDX-License-Identifier: Apache-2.0
// The seam between the code that changes the cluster (creator, healer, node-timeout boost, the
// shard guard of prepare) and the pods it acts on. PeerPool implements it over real Redis
// connections; unit tests implement it with a fake cluster (tests/unit/support/fake_cluster.h),
// so every decision can be tested without a Redis or root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/snapshot.h"
#include "common/result.h"
#include "redis/connection.h"

namespace agent::cluster {

// One pod of the StatefulSet as the last probe found it.
struct PeerProbe {
  int ordinal = 0;
  std::string name;     // DNS name from the template
  std::string ip;       // empty when the name does not resolve
  std::string node_id;  // empty when Redis did not answer CLUSTER MYID
  std::optional<Error> error;
  std::optional<Snapshot> snapshot;  // only when probed with Depth::Snapshot
  bool stale = false;  // this pod's probe is still running; the values are from an earlier one
  bool answering() const { return !node_id.empty(); }
  // Answering in this very probe, with a full snapshot: what every cluster-changing decision
  // needs before it acts on the pod.
  bool live() const { return !stale && answering() && snapshot && snapshot->nodes && !ip.empty(); }
  // The pod name: the first label of the DNS name (redis-3 of redis-3.redis-headless...).
  std::string pod() const { return name.substr(0, name.find('.')); }
};

// The ordinal that stands for the local Redis (the one beside this agent) in Pods::command.
inline constexpr int kLocal = -1;

// Every pod of the StatefulSet and the local Redis. Used by one thread at a time.
class Pods {
 public:
  virtual ~Pods() = default;

  enum class Depth { Id, Snapshot };
  // Probes every pod: resolves its name, asks CLUSTER MYID (Depth::Id) or takes a full snapshot
  // (Depth::Snapshot). Waits for every pod when budget_ms < 0; otherwise returns after budget_ms
  // at the latest, and pods still being probed keep their previous result, marked stale.
  virtual std::vector<PeerProbe> probeAll(Depth depth = Depth::Id, int64_t budget_ms = -1) = 0;
  // The result of the last probeAll, one entry per ordinal.
  virtual const std::vector<PeerProbe>& last() const = 0;
  // Runs one command on `ordinal`'s Redis (kLocal: the local Redis); an error reply is
  // Errc::Server. Fails without sending when the pod is not reachable now.
  virtual Result<redis::Reply> command(int ordinal, const std::vector<std::string>& args) = 0;
};

}  // namespace agent::cluster
