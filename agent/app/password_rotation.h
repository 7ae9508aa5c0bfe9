// SPDX-License-Identifier: Apache-2.0
// Password rotation in `run`: watches the mounted password file, and when it changes moves the
// local node to the new password in the steps of auth/rotation.h, each gated on what the other
// pods' agents report on /peerinfo and on what their Redis says. Keeps the include file
// (what a restarting Redis reads) and nodes.auth (the passwords a restarted node must accept
// again) in step with the node before each change, and hands the passwords the agent's own
// connections may use to every part that connects (redis::Credentials). Loop thread only; the
// file watcher's thread only wakes the loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/local_redis.h"
#include "auth/include_file.h"
#include "auth/record.h"
#include "auth/rotation.h"
#include "cluster/peer_pool.h"
#include "common/counters.h"
#include "common/stop.h"
#include "config/config.h"
#include "redis/credentials.h"
#include "state/view.h"
#include "watch/mounted_files.h"

namespace agent::app {

class PasswordRotation {
 public:
  // `password`: the file's content at start (nullopt: no authentication, nothing to rotate).
  PasswordRotation(const config::Config& config, std::optional<std::string> password,
                   Activity& activity);
  ~PasswordRotation() { stop(); }
  PasswordRotation(const PasswordRotation&) = delete;
  PasswordRotation& operator=(const PasswordRotation&) = delete;

  // The passwords every connection of the agent tries, kept current by step().
  std::shared_ptr<const redis::Credentials> credentials() const { return credentials_; }
  // Changes of the password file wake `wake` (null: nobody) from now on.
  void setWake(StopSignal* wake) { wake_ = wake; }
  // One pass, after the local Redis was observed and the peers probed. Returns how soon the
  // next pass should come.
  int64_t step(LocalRedis& local, cluster::PeerPool& peers);
  // The rotation fields of the published view (and so /peerinfo's report).
  void describe(state::StateView& view) const;
  void stop() { watch_.stop(); }

 private:
  bool acts() const { return config_.mode == config::Mode::Act; }
  void reloadIfChanged();
  void reload();
  void setTarget(const std::string& password);
  bool restoreRecorded(const auth::NodeAuth& node, const auth::RunCommand& run);
  void syncFiles(const auth::NodeAuth& node);
  void syncInclude(const auth::NodeAuth& node);
  bool saveRecord(const auth::AuthRecord& record);
  std::vector<auth::PodAuth> others(cluster::PeerPool& peers) const;
  void apply(auth::Step step, const auth::NodeAuth& node, const auth::RunCommand& run);
  bool stepAllowed(const auth::RunCommand& run);
  void noteDecision(const auth::Decision& decision);
  void finished();

  const config::Config& config_;
  Activity& activity_;
  std::shared_ptr<redis::Credentials> credentials_;
  std::atomic<StopSignal*> wake_{nullptr};
  watch::MountedFiles watch_;
  uint64_t seen_generation_ = 0;
  int64_t reloaded_ms_ = 0;
  bool file_failing_ = false;

  std::optional<std::string> password_;  // the file's, the target of any rotation
  std::string target_hash_;              // its SHA-256 (Redis' ACL form)
  std::string target_fp_;                // its fingerprint (what /peerinfo shows)
  std::vector<std::string> previous_;    // passwords known from before, in clear (memory only)
  std::optional<auth::AuthRecord> record_;
  std::optional<auth::IncludeAuth> include_;  // as last read or written

  auth::Planner planner_;
  auth::Phase phase_ = auth::Phase::Unknown;
  auth::Decision decision_;
  std::string waiting_logged_;
  int64_t started_ms_ = 0;
  bool refused_ = false;  // an ACL file: logged once per rotation
  bool failing_ = false;  // a step or file write failed: counted once until one works
};

// What each pod's agent reports on /peerinfo (port `http_port`), fetched in parallel, each
// within `timeout_ms`; by ordinal, nullopt where the agent did not answer or has no report.
std::vector<std::optional<auth::Report>> fetchReports(const std::vector<cluster::PeerProbe>& pods,
                                                      int http_port, int64_t timeout_ms);

// The passwords a command may authenticate with before it knows which one the node runs: the
// mounted file's, then the include's (what the local Redis was started with).
std::vector<std::string> knownPasswords(const std::optional<std::string>& file_password,
                                        const std::string& include_file);

}  // namespace agent::app
