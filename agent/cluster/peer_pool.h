// SPDX-License-Identifier: Apache-2.0
// The pods of the StatefulSet as the agent sees them: for each ordinal, the name, the IP it
// resolves to now, and the node ID its Redis answers with at that IP. Connections are kept
// between polls and probed in parallel, so one silent pod costs one timeout, not one per peer.
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/snapshot.h"
#include "common/result.h"
#include "redis/connection.h"

namespace agent::peers {
class Resolver;
}

namespace agent::cluster {

struct PeerProbe {
  int ordinal = 0;
  std::string name;     // DNS name from the template
  std::string ip;       // empty when the name does not resolve
  std::string node_id;  // empty when Redis did not answer CLUSTER MYID
  std::optional<Error> error;
  std::optional<Snapshot> snapshot;  // only when probed with Depth::Snapshot
  bool stale = false;  // this pod's probe is still running; the values are from an earlier one
  bool answering() const { return !node_id.empty(); }
  // The pod name: the first label of the DNS name (redis-3 of redis-3.redis-headless...).
  std::string pod() const { return name.substr(0, name.find('.')); }
};

struct PeerPoolOptions {
  int cluster_nodes = 0;
  int redis_port = 6379;
  std::string my_ip;  // address-family hint for names with A and AAAA records
  redis::ConnectOptions connect;
};

class PeerPool {
 public:
  PeerPool(PeerPoolOptions options, peers::Resolver& resolver, std::vector<std::string> names);
  PeerPool(const PeerPool&) = delete;
  PeerPool& operator=(const PeerPool&) = delete;

  enum class Depth { Id, Snapshot };
  // Resolves every name, (re)connects where the IP changed or the link broke, asks CLUSTER MYID
  // (Depth::Id) or takes a full snapshot (Depth::Snapshot). Waits for every pod when
  // budget_ms < 0; otherwise returns after budget_ms at the latest and leaves slow probes
  // running (their pods keep the previous result, marked stale), so a silent pod whose
  // packets are dropped costs the loop nothing but the budget.
  std::vector<PeerProbe> probeAll(Depth depth = Depth::Id, int64_t budget_ms = -1);
  const std::vector<PeerProbe>& last() const { return last_; }

  // The open connection to `ordinal`'s Redis, if the last probe reached it. Not thread-safe:
  // only the agent's loop thread uses the pool.
  redis::Connection* connection(int ordinal);
  // Runs `args` on `ordinal`'s Redis. Fails while a probe of that pod is still running.
  Result<redis::Reply> command(int ordinal, const std::vector<std::string>& args);

 private:
  PeerProbe probeOne(int ordinal, Depth depth);

  PeerPoolOptions options_;
  peers::Resolver& resolver_;
  std::vector<std::string> names_;
  std::vector<std::optional<redis::Connection>> conns_;
  std::vector<PeerProbe> last_;
  std::vector<std::optional<std::future<PeerProbe>>> inflight_;  // by ordinal
};

}  // namespace agent::cluster
