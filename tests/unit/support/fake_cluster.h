// SPDX-License-Identifier: Apache-2.0
// Test helper: a StatefulSet of Redis Cluster pods modelled in memory, behind the same seam the
// agent's PeerPool implements (cluster::Pods). Each node is a few fields; what a node answers
// (INFO, CLUSTER INFO, CLUSTER NODES) is rendered from them and parsed exactly like live
// replies. Commands are recorded, and by default change the model the way Redis would (MEET,
// ADDSLOTSRANGE, SET-CONFIG-EPOCH, REPLICATE, FORGET, FAILOVER FORCE, CONFIG GET/SET of
// cluster-node-timeout), so a test can drive the creator or healer through several passes.
// A test can script any reply or failure.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/pods.h"
#include "nodes_conf/nodes_conf.h"

namespace agent::testing {

// How one node sees another; the defaults mean "as it is now".
struct Seen {
  std::optional<std::string> ip;  // the address it has for the node, when not the current one
  std::string flags;              // extra flags, e.g. "fail", "fail?", "noaddr" (comma-separated)
  bool connected = true;
};

struct SimNode {
  std::string id;
  std::string ip;
  int port = 6379;
  bool master = true;
  std::string master_id;  // a replica's master
  std::vector<nodes_conf::SlotRange> slots;
  uint64_t epoch = 0;
  int64_t keys = 0;
  int64_t offset = 0;  // replication offset
  bool loading = false;
  int64_t node_timeout_ms = 15000;
  std::optional<std::string> state;  // cluster_state; by default ok when its view has every slot
  std::string redis_version = "7.0.15";  // INFO's redis_version (Valkey 8: "7.2.4")
  std::string valkey_version;            // set: the node is Valkey (server_name:valkey)
  std::map<std::string, Seen> knows;     // every other node it knows, by ID
};

struct FakePod {
  std::string node_id;   // the node its Redis runs now
  bool resolves = true;  // its DNS name resolves
  bool answers = true;   // its Redis answers
  bool slow = false;     // a probe with a budget does not finish: the pod keeps its last result
  // What the agent at the pod's address answers on /peerinfo when asked (nullopt: no agent).
  // By default the pod's own agent, vouching for the node the pod runs (agentFor()).
  std::optional<cluster::AgentInfo> agent_override;
  bool agent_answers = true;          // false: no agent answers there
  bool node_fresh = false;            // the pod's node started there without an earlier nodes.conf
  std::optional<std::string> dns_ip;  // the name resolves here instead of the node's address
};

struct Sent {
  int target = 0;  // ordinal, or cluster::kLocal as the code under test said
  std::vector<std::string> args;
  std::string text() const;  // "3 CLUSTER MEET 10.0.0.1 6379 16379" ("local ..." for kLocal)
};

class FakeCluster final : public cluster::Pods {
 public:
  // `pods` pods, each a fresh, empty node at 10.0.0.<ordinal> that knows no other node.
  static FakeCluster fresh(int pods);
  // The cluster the creator makes: masters 0..M-1 with redis-cli's slot ranges, replica r
  // following master (r - M) % M, epochs 1..N, every node knowing every other.
  static FakeCluster formed(int pods, int replicas);

  std::vector<SimNode> nodes;  // every identity, including ones no pod runs any more
  std::vector<FakePod> pods;   // by ordinal
  int local = 0;               // the pod whose Redis kLocal stands for
  bool simulate = true;        // commands change the model (else they only answer OK)
  // Agents at addresses where no pod of this set runs (another cluster's pods), by IP.
  std::map<std::string, cluster::AgentInfo> agents_elsewhere;

  SimNode& node(const std::string& id);
  const SimNode& node(const std::string& id) const;
  SimNode& nodeOf(int ordinal) { return node(pods.at(static_cast<size_t>(ordinal)).node_id); }
  bool exists(const std::string& id) const;

  // Makes every node know every other one, as it is now.
  void meshAll();
  // Pod `ordinal` comes back at `ip`; the nodes that knew it keep its old address.
  void move(int ordinal, const std::string& ip);
  // Pod `ordinal` lost its data: it runs a new, empty node with `new_id` at the same IP. The old
  // identity stays known to the others, flagged fail and disconnected.
  void wipe(int ordinal, const std::string& new_id);
  // The replica in pod `ordinal` takes its master's slots, as after CLUSTER FAILOVER FORCE.
  void promote(int ordinal) { failover(nodeOf(ordinal)); }
  // Pod `ordinal` runs this server: "redis 5.0.1", "valkey 8.0.1" (as Redis 7.2.4).
  void runServer(int ordinal, const std::string& server);
  // How `viewer` sees `id`; creates the entry.
  Seen& seen(const std::string& viewer, const std::string& id);

  // What the node answers, rendered like Redis does.
  std::string info(const std::string& id) const;
  std::string clusterInfo(const std::string& id) const;
  std::string clusterNodes(const std::string& id) const;
  cluster::Snapshot snapshot(const std::string& id) const;
  cluster::Snapshot snapshotOf(int ordinal) const;

  // The StatefulSet's peer host template the fake's agents report.
  static constexpr const char* kSet = "redis-{}.redis-headless.default.svc.cluster.local";
  // What pod `ordinal`'s own agent says about itself.
  cluster::AgentInfo agentFor(int ordinal) const;

  // cluster::Pods
  using cluster::Pods::probeAll;
  const std::vector<cluster::PeerProbe>& probe(const Request& request) override;
  const std::vector<cluster::PeerProbe>& last() const override { return last_; }
  const std::vector<cluster::PeerProbe>& lastResolved() const override { return resolved_; }
  std::vector<Request> requests;  // every probe round asked for, in order
  Result<redis::Reply> command(int ordinal, const std::vector<std::string>& args) override;

  // Commands whose target matches (nullopt: any) and whose words start with `prefix` get
  // `reply` instead, `times` times (-1: always). Checked before the model.
  void script(std::optional<int> target, const std::string& prefix, Result<redis::Reply> reply,
              int times = -1);
  // Called with every command before it is answered (e.g. to check what is on disk by then).
  std::function<void(const Sent&)> on_command;

  std::vector<Sent> sent;
  std::vector<std::string> sentTexts() const;
  // How many sent commands start with `prefix` (e.g. "CLUSTER MEET"), to any target.
  int count(const std::string& prefix) const;
  int count(int target, const std::string& prefix) const;

 private:
  struct Rule {
    std::optional<int> target;
    std::string prefix;
    Result<redis::Reply> reply;
    int times = -1;
  };
  std::optional<Result<redis::Reply>> scripted(int target, const std::string& text);
  Result<redis::Reply> apply(SimNode& n, const std::vector<std::string>& args);
  Result<redis::Reply> meet(SimNode& n, const std::string& ip);
  Result<redis::Reply> replicate(SimNode& n, const std::string& master_id);
  void failover(SimNode& n);
  cluster::PeerProbe probeOne(int ordinal, Depth depth, bool agent_info) const;
  std::optional<cluster::AgentInfo> agentAt(const std::string& ip) const;

  std::vector<Rule> rules_;
  std::vector<cluster::PeerProbe> last_;
  std::vector<cluster::PeerProbe> resolved_;
};

// The 40-character ID of simulated node `i` (0..15: one hex digit repeated; more: zero padded).
std::string simId(int i);
// A reply of the given kind.
redis::Reply okReply();
redis::Reply stringReply(const std::string& s);

}  // namespace agent::testing
