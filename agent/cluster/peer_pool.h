// SPDX-License-Identifier: Apache-2.0
// The pods of the StatefulSet as the agent sees them: for each ordinal, the name, the IP it
// resolves to now, and the node ID its Redis answers with at that IP. Connections are kept
// between polls and probed in parallel, so one silent pod costs one timeout, not one per peer.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/pods.h"
#include "common/result.h"
#include "redis/connection.h"

namespace agent::peers {
class Resolver;
}

namespace agent::cluster {

struct PeerPoolOptions {
  int cluster_nodes = 0;
  int redis_port = 6379;
  std::string my_ip;  // address-family hint for names with A and AAAA records
  redis::ConnectOptions connect;
  // With TLS: each peer's certificate must be valid for its pod name (the name resolved).
  bool verify_names = false;
};

// The local Redis for command(kLocal, ...): the connection its owner keeps, or nullptr while
// there is none.
using LocalConnection = std::function<redis::Connection*()>;

class PeerPool final : public Pods {
 public:
  PeerPool(PeerPoolOptions options, peers::Resolver& resolver, std::vector<std::string> names);
  PeerPool(const PeerPool&) = delete;
  PeerPool& operator=(const PeerPool&) = delete;

  // Resolves every name, (re)connects where the IP changed or the link broke, and probes each
  // pod in parallel. Slow probes left behind by the budget keep running, so a silent pod whose
  // packets are dropped costs the loop nothing but the budget.
  std::vector<PeerProbe> probeAll(Depth depth = Depth::Id, int64_t budget_ms = -1) override;
  const std::vector<PeerProbe>& last() const override { return last_; }

  // The open connection to `ordinal`'s Redis, if the last probe reached it. Not thread-safe:
  // only one thread at a time uses a pool.
  redis::Connection* connection(int ordinal);
  // Runs `args` on `ordinal`'s Redis (kLocal: the local connection). Fails while a probe of
  // that pod is still running.
  Result<redis::Reply> command(int ordinal, const std::vector<std::string>& args) override;
  // Where command(kLocal, ...) goes; without it, such commands fail.
  void setLocal(LocalConnection local) { local_ = std::move(local); }

 private:
  PeerProbe probeOne(int ordinal, Depth depth);
  // The connect options for the pod called `name` (its server name, with verify_names).
  redis::ConnectOptions connectOptions(const std::string& name) const;

  PeerPoolOptions options_;
  LocalConnection local_;
  peers::Resolver& resolver_;
  std::vector<std::string> names_;
  std::vector<std::optional<redis::Connection>> conns_;
  std::vector<PeerProbe> last_;
  std::vector<std::optional<std::future<PeerProbe>>> inflight_;  // by ordinal
};

}  // namespace agent::cluster
