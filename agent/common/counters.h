// SPDX-License-Identifier: Apache-2.0
// Named event counters shared by the loop (writer) and the HTTP listener (reader). Metrics
// export them as *_total counters; names are short snake_case words ("meet", "forget").
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace agent {

class Counters {
 public:
  void add(const std::string& name, int64_t n = 1) {
    std::lock_guard lock(mu_);
    values_[name] += n;
  }
  int64_t get(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = values_.find(name);
    return it == values_.end() ? 0 : it->second;
  }
  std::map<std::string, int64_t> values() const {
    std::lock_guard lock(mu_);
    return values_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t> values_;
};

// What the agent did to the cluster, and what went wrong, by kind. One instance per process,
// owned by app::Agent and passed by reference to the modules that act.
struct Activity {
  // Cluster-changing commands sent and files written: "meet", "forget", "replicate",
  // "addslots", "set_config_epoch", "failover", "creation", "nodes_conf_rewrite", ...
  Counters actions;
  // Failures by kind: "redis_unreachable", "command_failed", "peer_unreachable", ...
  Counters errors;
};

}  // namespace agent
