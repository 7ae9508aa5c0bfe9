// SPDX-License-Identifier: Apache-2.0
#include "app/password_rotation.h"

#include <fmt/format.h>
#include <algorithm>
#include <future>

#include "auth/hash.h"
#include "cluster/agent_info.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "http/client.h"

namespace agent::app {

namespace {

const log::Logger kLog("rotation");

// The password file is read again this often even without an event (a watcher may be
// restarting, or inotify unavailable).
constexpr int64_t kRereadMs = 10000;
// While a rotation runs, the loop comes back this soon: each step waits for the others'.
constexpr int64_t kRotatingPollMs = 200;
// How long a peer's agent may take to answer /peerinfo.
constexpr int64_t kReportTimeoutMs = 300;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

}  // namespace

std::vector<std::string> knownPasswords(const std::optional<std::string>& file_password,
                                        const std::string& include_file) {
  std::vector<std::string> out;
  if (file_password) out.push_back(*file_password);
  if (include_file.empty()) return out;
  auto text = files::read(include_file);
  if (!text) return out;
  auto inc = auth::readIncludeAuth(*text);
  for (const auto& p : {inc.requirepass, inc.masterauth}) {
    if (p && std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
  }
  return out;
}

std::vector<std::optional<auth::Report>> fetchReports(const std::vector<cluster::PeerProbe>& pods,
                                                      int http_port, int64_t timeout_ms) {
  std::vector<std::future<std::optional<auth::Report>>> pending;
  for (const auto& p : pods) {
    std::string ip = p.ip;
    pending.push_back(std::async(std::launch::async, [ip, http_port, timeout_ms] {
      if (ip.empty()) return std::optional<auth::Report>();
      auto body = http::get(ip, http_port, "/peerinfo", timeout_ms, cluster::kMaxAgentInfoBytes);
      return body ? auth::parseReport(*body) : std::nullopt;
    }));
  }
  std::vector<std::optional<auth::Report>> out;
  out.reserve(pending.size());
  for (auto& f : pending) out.push_back(f.get());
  return out;
}

PasswordRotation::PasswordRotation(const config::Config& config,
                                   std::optional<std::string> password, Activity& activity)
    : config_(config),
      activity_(activity),
      credentials_(std::make_shared<redis::Credentials>()),
      watch_(config.redis_password_file.empty()
                 ? std::vector<std::string>{}
                 : std::vector<std::string>{config.redis_password_file},
             [this] {
               if (StopSignal* wake = wake_.load(); wake != nullptr) wake->wake();
             }),
      planner_(config.rotation_grace_ms) {
  auto known = knownPasswords(password, config.include_file);
  if (password) {
    previous_.assign(known.begin() + 1, known.end());
    setTarget(*password);
  } else {
    credentials_->set(known);
  }
}

void PasswordRotation::setTarget(const std::string& password) {
  password_ = password;
  target_hash_ = auth::sha256Hex(password);
  target_fp_ = auth::fingerprint(password, config_.peer_host_template);
  std::erase(previous_, password);
  std::vector<std::string> candidates{password};
  candidates.insert(candidates.end(), previous_.begin(), previous_.end());
  credentials_->set(std::move(candidates));
}

void PasswordRotation::reload() {
  auto pw = redis::readPasswordFile(config_.redis_password_file);
  if (!pw || !*pw) {
    if (!file_failing_) {
      kLog.warn("Cannot read the password file; keeping the password in use",
                {{"path", config_.redis_password_file},
                 {"err", pw ? "no password" : pw.error().message}});
      activity_.errors.add(ErrorKind::PasswordFile);
    }
    file_failing_ = true;
    return;
  }
  if (file_failing_) kLog.info("The password file is readable again");
  file_failing_ = false;
  if (password_ == **pw) return;
  if (password_) previous_.push_back(*password_);
  setTarget(**pw);
  kLog.info("The password file changed: moving to the new password",
            {{"path", config_.redis_password_file}, {"fingerprint", target_fp_}});
}

void PasswordRotation::reloadIfChanged() {
  if (config_.redis_password_file.empty()) return;
  if (Status st = watch_.ensure(); !st && !file_failing_) {
    kLog.debug("Cannot watch the password file's directory; reading it every 10s",
               {{"err", st.error().message}});
  }
  int64_t now = monotonicMs();
  uint64_t gen = watch_.generation();
  if (gen == seen_generation_ && reloaded_ms_ != 0 && now - reloaded_ms_ < kRereadMs) return;
  seen_generation_ = gen;
  reloaded_ms_ = now;
  reload();
}

bool PasswordRotation::saveRecord(const auth::AuthRecord& record) {
  if (record_ == record) return true;
  if (Status st = auth::saveAuthRecord(config_.nodes_conf, record); !st) {
    kLog.warn("Cannot write the record of accepted passwords; not changing the node",
              {{"err", st.error().message}});
    if (!failing_) activity_.errors.add(ErrorKind::PasswordRotation);
    failing_ = true;
    return false;
  }
  record_ = record;
  return true;
}

// After a restart Redis accepts only the include's password; while a rotation is unfinished
// (the record holds several) the others come back, by hash.
bool PasswordRotation::restoreRecorded(const auth::NodeAuth& node, const auth::RunCommand& run) {
  if (!record_) {
    auto loaded = auth::loadAuthRecord(config_.nodes_conf);
    if (!loaded) kLog.warn("Ignoring the unreadable record", {{"err", loaded.error().message}});
    record_ = loaded && *loaded ? **loaded : auth::AuthRecord{};
  }
  if (record_->accepts.size() < 2 || node.nopass || node.accepts.empty()) return false;
  int restored = 0;
  for (const auto& h : record_->accepts) {
    if (node.acceptsHash(h)) continue;
    if (Status st = auth::addPasswordHash(run, h); !st) {
      kLog.warn("Cannot give the node its recorded passwords back", {{"err", st.error().message}});
      if (!failing_) activity_.errors.add(ErrorKind::PasswordRotation);
      failing_ = true;
      return false;
    }
    ++restored;
  }
  if (restored == 0) return false;
  activity_.actions.add(Action::PasswordRestore);
  kLog.info("The restarted Redis accepts the rotation's passwords again", {{"restored", restored}});
  return true;
}

void PasswordRotation::syncInclude(const auth::NodeAuth& node) {
  if (config_.include_file.empty()) return;
  auto text = files::read(config_.include_file);
  if (!text) return;  // no include in use (or not written yet): nothing to keep in step
  auto current = auth::readIncludeAuth(*text);
  auth::IncludeAuth want = current;
  if (node.acceptsHash(target_hash_)) want.requirepass = password_;
  want.masterauth = node.masterauth;
  if (want == current) {
    include_ = want;
    return;
  }
  if (Status st =
          files::writeAtomically(config_.include_file, auth::withIncludeAuth(*text, want), 0600);
      !st) {
    kLog.warn("Cannot rewrite the include file", {{"err", st.error().message}});
    if (!failing_) activity_.errors.add(ErrorKind::PasswordRotation);
    failing_ = true;
    return;
  }
  include_ = want;
  kLog.info("Rewrote the include with the passwords the node uses now",
            {{"path", config_.include_file}});
}

void PasswordRotation::syncFiles(const auth::NodeAuth& node) {
  if (!include_ || include_->masterauth != node.masterauth ||
      (node.acceptsHash(target_hash_) && include_->requirepass != password_)) {
    syncInclude(node);
  }
  if (phase_ == auth::Phase::Done) saveRecord(auth::AuthRecord{{target_hash_}});
}

std::vector<auth::PodAuth> PasswordRotation::others(cluster::PeerPool& peers) const {
  // Every pod's address, not only those the attention model looked at lately: a healthy
  // cluster is rarely probed, and each step of a rotation waits for every pod.
  const auto& pods = peers.probeAll(cluster::Pods::Depth::Id, kReportTimeoutMs);
  auto reports = fetchReports(pods, config_.http.port, kReportTimeoutMs);
  std::vector<auth::PodAuth> out;
  for (size_t i = 0; i < pods.size(); ++i) {
    const auto& p = pods[i];
    if (p.ordinal == config_.ordinal) continue;
    auth::PodAuth a{p.ordinal, p.pod(), reports[i], std::nullopt, std::nullopt};
    // Only a pod that says it has the new password is checked on its Redis.
    if (a.report && a.report->target == target_fp_ && a.report->phase >= auth::Phase::Accepting) {
      int ordinal = p.ordinal;
      auto node = auth::readNodeAuth([&peers, ordinal](const std::vector<std::string>& args) {
        return peers.command(ordinal, args);
      });
      if (node) {
        a.accepts_target = node->acceptsHash(target_hash_);
        a.masterauth_target =
            node->masterauth && auth::sha256Hex(*node->masterauth) == target_hash_;
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

bool PasswordRotation::stepAllowed(const auth::RunCommand& run) {
  auto acl_file = auth::usesAclFile(run);
  if (!acl_file || !*acl_file) return true;
  if (!refused_) {
    kLog.error(
        "Not rotating: this Redis loads its users from an ACL file (aclfile), which a "
        "restart reads instead of the include; change the password in that file");
    activity_.errors.add(ErrorKind::PasswordRotation);
  }
  refused_ = true;
  return false;
}

void PasswordRotation::apply(auth::Step step, const auth::NodeAuth& node,
                             const auth::RunCommand& run) {
  Status st;
  if (step == auth::Step::AddTarget) {
    auth::AuthRecord record = record_.value_or(auth::AuthRecord{});
    for (const auto& h : node.accepts) record.add(h);
    record.add(target_hash_);
    if (!saveRecord(record)) return;
    st = auth::addPassword(run, *password_);
  } else if (step == auth::Step::SwitchMasterauth) {
    st = auth::setMasterauth(run, *password_);
  } else if (step == auth::Step::DropOld) {
    if (!saveRecord(auth::AuthRecord{{target_hash_}})) return;
    st = auth::acceptOnly(run, *password_);
  }
  if (!st) {
    kLog.warn("Password rotation step failed; retrying",
              {{"step", auth::stepName(step)}, {"err", st.error().message}});
    if (!failing_) activity_.errors.add(ErrorKind::PasswordRotation);
    failing_ = true;
    return;
  }
  failing_ = false;
  if (step == auth::Step::AddTarget) {
    activity_.actions.add(Action::PasswordAdd);
    kLog.info("Password rotation 1/3: this node accepts the new password besides the old",
              {{"fingerprint", target_fp_}});
  } else if (step == auth::Step::SwitchMasterauth) {
    activity_.actions.add(Action::MasterauthSwitch);
    kLog.info(
        "Password rotation 2/3: every pod accepts the new password; this node now "
        "authenticates to its master with it");
  } else {
    activity_.actions.add(Action::PasswordDrop);
    kLog.info(
        "Password rotation 3/3: every pod uses the new password; this node no longer "
        "accepts the old");
  }
}

void PasswordRotation::noteDecision(const auth::Decision& decision) {
  std::string what = joined(decision.waiting);
  if (what.empty() && decision.step == auth::Step::None && decision.grace_left_ms > 0) {
    what = "the grace period for clients";
  }
  if (what == waiting_logged_) return;
  waiting_logged_ = what;
  if (what.empty()) return;
  kLog.info(
      "Password rotation waits",
      {{"phase", auth::phaseName(phase_)}, {"for", what}, {"graceLeftMs", decision.grace_left_ms}});
}

void PasswordRotation::finished() {
  decision_ = {};
  waiting_logged_.clear();
  refused_ = false;
  if (!previous_.empty() && phase_ == auth::Phase::Done) {
    previous_.clear();
    credentials_->set({*password_});
  }
  if (started_ms_ == 0) return;
  if (phase_ == auth::Phase::Done) {
    kLog.info("Password rotation complete on this node",
              {{"seconds", (monotonicMs() - started_ms_) / 1000}});
  }
  started_ms_ = 0;
}

int64_t PasswordRotation::step(LocalRedis& local, cluster::PeerPool& peers) {
  reloadIfChanged();
  if (!password_ || !acts()) return config_.poll_interval_ms;
  auto run = [&local](const std::vector<std::string>& args) {
    return local.connection().command(args);
  };
  auto node = auth::readNodeAuth(run);
  if (node && restoreRecorded(*node, run)) node = auth::readNodeAuth(run);
  if (!node) {
    kLog.debug("Cannot read the node's passwords", {{"err", node.error().message}});
    phase_ = auth::Phase::Unknown;
    return config_.poll_interval_ms;
  }
  phase_ = auth::phaseOf(*node, target_hash_);
  syncFiles(*node);
  if (phase_ == auth::Phase::Done || phase_ == auth::Phase::Unknown) {
    finished();
    return config_.poll_interval_ms;
  }
  if (started_ms_ == 0) {
    started_ms_ = monotonicMs();
    kLog.info("Password rotation started on this node", {{"phase", auth::phaseName(phase_)}});
  }
  decision_ = planner_.decide(phase_, target_fp_, others(peers), monotonicMs());
  noteDecision(decision_);
  if (decision_.step != auth::Step::None && stepAllowed(run)) {
    apply(decision_.step, *node, run);
    if (auto after = auth::readNodeAuth(run)) {
      phase_ = auth::phaseOf(*after, target_hash_);
      syncFiles(*after);
    }
  }
  if (phase_ == auth::Phase::Done) finished();
  return kRotatingPollMs;
}

void PasswordRotation::describe(state::StateView& view) const {
  view.rotation.enabled = password_.has_value();
  view.rotation.report = {phase_, password_ ? target_fp_ : std::string()};
  view.rotation.waiting = decision_.waiting;
  view.rotation.grace_left_ms = decision_.grace_left_ms;
  view.rotation.started_ms = started_ms_;
}

}  // namespace agent::app
