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

#include "cluster/agent_info.h"
#include "cluster/snapshot.h"
#include "common/result.h"
#include "redis/connection.h"

namespace agent::cluster {

// One pod of the StatefulSet as the last probe of it found it.
struct PeerProbe {
  int ordinal = 0;
  std::string name;     // DNS name from the template
  std::string ip;       // empty when the name does not resolve
  std::string node_id;  // empty when Redis did not answer CLUSTER MYID
  std::optional<Error> error;
  std::optional<Snapshot> snapshot;  // only when probed with Depth::Snapshot
  // The server at that address (INFO server, read once per connection); absent until read.
  std::optional<redis::ServerInfo> server;
  // What the agent at that address says about itself; only when asked for (ProbeRequest::
  // agent_info) and it answered. Not proof by itself: cluster/identity.h weighs it.
  std::optional<AgentInfo> agent;
  bool agent_asked = false;  // the probe asked the agent (agent stays empty if none answered)
  // Not probed in the last round (not asked for, or its probe was still running when the round
  // ended): the values are from an earlier one.
  bool stale = false;
  bool answering() const { return !node_id.empty(); }
  // Answering in this very round, with a full snapshot: what every cluster-changing decision
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

  // Resolve: the pod's name only (the result goes to lastResolved(), not last()). Id: also
  // CLUSTER MYID at that address. Snapshot: INFO, CLUSTER INFO and CLUSTER NODES instead.
  enum class Depth { Resolve, Id, Snapshot };
  struct Request {
    std::vector<int> ordinals;  // empty: every pod
    Depth depth = Depth::Id;
    bool agent_info = false;  // also ask the agent at the pod's address who it is
    // The round returns after this long at the latest; pods still being probed keep their
    // previous result, marked stale, and are collected by a later round. < 0: wait for all.
    int64_t budget_ms = -1;
  };
  // One round over the requested pods (the others are marked stale). Returns last() (or, for
  // Depth::Resolve, lastResolved()).
  virtual const std::vector<PeerProbe>& probe(const Request& request) = 0;
  // Every pod, without asking the agents.
  const std::vector<PeerProbe>& probeAll(Depth depth = Depth::Id, int64_t budget_ms = -1) {
    return probe({{}, depth, false, budget_ms});
  }
  // The results of the rounds so far, one entry per ordinal.
  virtual const std::vector<PeerProbe>& last() const = 0;
  // The names as the last Resolve rounds found them, one entry per ordinal.
  virtual const std::vector<PeerProbe>& lastResolved() const = 0;
  // Runs one command on `ordinal`'s Redis (kLocal: the local Redis); an error reply is
  // Errc::Server. Fails without sending when the pod is not reachable now.
  virtual Result<redis::Reply> command(int ordinal, const std::vector<std::string>& args) = 0;
};

}  // namespace agent::cluster
