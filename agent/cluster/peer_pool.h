// SPDX-License-Identifier: Apache-2.0
// The pods of the StatefulSet as the agent sees them: for each ordinal, the name, the IP it
// resolves to now, the node ID its Redis answers with at that IP and, when asked, what the
// agent there says about itself. A fixed, small set of worker threads probes the pods a round
// asks for, under one deadline per round: a silent or hostile pod costs a round at most its
// budget, and no thread is created per pod or per round. Connections to a pod are kept while it
// is being looked at and closed once idle.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
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
  int agent_port = 9839;  // where every pod's agent answers /peerinfo
  int workers = 4;
  int64_t idle_close_ms = 10000;  // a connection unused this long is closed
  // With TLS: each peer's certificate must be valid for its pod name (the name resolved).
  bool verify_names = false;
};

// The local Redis for command(kLocal, ...): the connection its owner keeps, or nullptr while
// there is none.
using LocalConnection = std::function<redis::Connection*()>;

class PeerPool final : public Pods {
 public:
  PeerPool(PeerPoolOptions options, peers::Resolver& resolver, std::vector<std::string> names);
  // Stops the workers. One still blocked (a name lookup has no deadline of ours) after
  // kStopWaitMs is left behind: it holds only the pool's shared state, never the caller's.
  ~PeerPool() override;
  PeerPool(const PeerPool&) = delete;
  PeerPool& operator=(const PeerPool&) = delete;

  const std::vector<PeerProbe>& probe(const Request& request) override;
  const std::vector<PeerProbe>& last() const override { return last_; }
  const std::vector<PeerProbe>& lastResolved() const override { return resolved_; }

  // The open connection to `ordinal`'s Redis, if the last probe reached it and none is running
  // now. Only the pool's owner (one thread) uses it.
  redis::Connection* connection(int ordinal);
  // Runs `args` on `ordinal`'s Redis (kLocal: the local connection). Fails while a probe of
  // that pod is still running.
  Result<redis::Reply> command(int ordinal, const std::vector<std::string>& args) override;
  // Where command(kLocal, ...) goes; without it, such commands fail.
  void setLocal(LocalConnection local) { local_ = std::move(local); }
  // A pass that probes no pod: every result is from an earlier round now (stale); results of
  // probes that finished meanwhile are collected.
  void idle();
  // This agent's own pod, as the local Redis shows it this pass (the agent reads its own Redis
  // anyway, never through the pod's name): last()[ordinal] becomes a live probe of it.
  void setOwn(int ordinal, const std::string& ip, const Snapshot& local, const AgentInfo& self);

  // How many pods a round probes at once.
  int workers() const { return static_cast<int>(workers_.size()); }
  // Name lookups and Redis probes made so far (the agent's own cost, for /metrics).
  int64_t dnsLookups() const;
  int64_t redisProbes() const;

  static constexpr int64_t kStopWaitMs = 2000;

 private:
  struct Shared;
  void collect(const std::vector<int>& asked, Depth depth);

  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> workers_;
  LocalConnection local_;
  std::vector<PeerProbe> last_;
  std::vector<PeerProbe> resolved_;
};

}  // namespace agent::cluster
