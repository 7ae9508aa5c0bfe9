// SPDX-License-Identifier: Apache-2.0
// Certificate rotation without restarts (--tls=on). Redis reads its certificate files only at
// start and on CONFIG SET of a tls-* file option (docs/redis-facts.md, "TLS"), and a Secret
// volume update swaps the files under a running pod. This part watches the directories of
// --tls-cert-file, --tls-key-file and --tls-ca-file (a change wakes the loop), and in the loop
// pass after a change: loads the new files into the agent's own TLS context (new connections
// use them; open ones keep theirs), then makes the local Redis load its files again by setting
// its tls-* file options to the values they have. A file set that does not load is logged and
// counted, and the previous certificates stay in use until the files change again. Also
// publishes each file's earliest certificate expiry for /metrics.
// Threads: the loop thread calls every method; the watchers' callbacks only touch atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/counters.h"
#include "common/result.h"
#include "common/stop.h"
#include "config/config.h"
#include "redis/connection.h"
#include "state/view.h"
#include "watch/dir_watcher.h"

namespace agent::app {

class CertWatch {
 public:
  CertWatch(const config::Config& config, Activity& activity);
  ~CertWatch() { stop(); }
  CertWatch(const CertWatch&) = delete;
  CertWatch& operator=(const CertWatch&) = delete;

  void setWake(StopSignal* wake) { wake_ = wake; }
  // Starts the directory watchers that are not running (nothing with TLS off).
  void ensure();
  void stop() { watchers_.clear(); }
  // Applies files that changed since the last pass. `local` is the local Redis (null while it
  // does not answer: Redis is then told on a later pass).
  void apply(redis::Connection* local);
  void describe(state::StateView& view) const { view.tls_certificates = certificates_; }

 private:
  // What identifies the version of the files now (stat of each path, through symlinks).
  std::string fingerprint() const;
  bool reloadAgent();
  enum class Told { Yes, Refused, Later };
  Told reloadRedis(redis::Connection& local);
  static Told later(const Error& error);
  void readExpiry();

  const config::Config& config_;
  Activity& activity_;
  std::vector<std::string> dirs_;  // the directories of the files, each once
  std::vector<std::unique_ptr<watch::DirWatcher>> watchers_;
  std::atomic<StopSignal*> wake_{nullptr};
  std::atomic<bool> changed_{true};
  std::string agent_loaded_;  // fingerprint the agent's context was (re)built from
  std::string redis_loaded_;  // fingerprint the local Redis was told about
  std::string failed_;        // fingerprint that failed: logged once, retried on a change
  std::vector<state::TlsCertificate> certificates_;
};

}  // namespace agent::app
