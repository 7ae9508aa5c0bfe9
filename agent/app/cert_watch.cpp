// SPDX-License-Identifier: Apache-2.0
#include "app/cert_watch.h"

#include <sys/stat.h>

#include <fmt/format.h>
#include <algorithm>

#include "common/files.h"
#include "common/log.h"
#include "config/clients.h"
#include "redis/tls.h"

namespace agent::app {

namespace {

const log::Logger kLog("tls");

// Redis' options naming its certificate files; a CONFIG SET of any of them reloads them all.
const std::vector<std::string> kRedisFileOptions = {"tls-cert-file", "tls-key-file",
                                                    "tls-ca-cert-file"};

}  // namespace

CertWatch::CertWatch(const config::Config& config, Activity& activity)
    : config_(config), activity_(activity) {
  if (!config.tls) return;
  for (const std::string* path :
       {&config.tls_cert_file, &config.tls_key_file, &config.tls_ca_file}) {
    if (path->empty()) continue;
    std::string dir = files::dirName(*path);
    if (std::find(dirs_.begin(), dirs_.end(), dir) == dirs_.end()) dirs_.push_back(dir);
  }
}

// A Secret volume update renames `..data` (the files are symlinks through it); other ways of
// replacing a file rename or rewrite the file itself. Either wakes the loop; the fingerprint
// decides whether anything changed.
void CertWatch::ensure() {
  watchers_.resize(dirs_.size());
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (watchers_[i] && watchers_[i]->active()) continue;
    std::vector<std::string> names = {"..data"};
    for (const std::string* path :
         {&config_.tls_cert_file, &config_.tls_key_file, &config_.tls_ca_file}) {
      if (!path->empty() && files::dirName(*path) == dirs_[i]) {
        names.push_back(files::baseName(*path));
      }
    }
    auto w = watch::DirWatcher::start(dirs_[i], names, [this](const std::string&) {
      changed_ = true;
      if (StopSignal* wake = wake_.load(); wake != nullptr) wake->wake();
    });
    watchers_[i] = w ? std::move(*w) : nullptr;
    changed_ = true;  // the files may have changed while nobody watched
  }
}

std::string CertWatch::fingerprint() const {
  std::string out;
  for (const std::string* path :
       {&config_.tls_cert_file, &config_.tls_key_file, &config_.tls_ca_file}) {
    struct stat st {};
    if (!path->empty() && ::stat(path->c_str(), &st) == 0) {
      out += fmt::format("{}:{}:{}:{}.{};", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                         st.st_mtim.tv_nsec);
    } else {
      out += "-;";
    }
  }
  return out;
}

void CertWatch::apply(redis::Connection* local) {
  if (!config_.tls) return;
  // Without a working watcher the files are compared on every pass (three stat calls).
  bool watched = std::all_of(watchers_.begin(), watchers_.end(),
                             [](const auto& w) { return w && w->active(); });
  if (!changed_.exchange(false) && watched && agent_loaded_ == redis_loaded_) return;
  std::string now = fingerprint();
  if (now == failed_) return;
  bool first = agent_loaded_.empty();
  if (now != agent_loaded_) {
    if (!reloadAgent()) {
      failed_ = now;
      return;
    }
    agent_loaded_ = now;
    readExpiry();
  }
  // The first pass only records what Redis started with; later ones tell it about new files.
  if (first) redis_loaded_ = now;
  if (redis_loaded_ == now || local == nullptr) return;
  if (config_.mode == config::Mode::Observe) {
    redis_loaded_ = now;  // observe mode changes nothing on Redis
    return;
  }
  switch (reloadRedis(*local)) {
    case Told::Later:  // the connection broke: the next pass asks again
      return;
    case Told::Refused: failed_ = now; return;
    case Told::Yes: break;
  }
  redis_loaded_ = now;
  failed_.clear();
  activity_.actions.add(Action::TlsReload);
  kLog.info("Certificates reloaded by the agent and its Redis",
            {{"certNotAfter", certificates_.empty() ? 0 : certificates_.front().not_after_unix}});
}

bool CertWatch::reloadAgent() {
  auto tls = config::tlsOptions(config_);
  Status st = redis::reloadTlsContext(*tls);
  if (st) return true;
  activity_.errors.add(ErrorKind::TlsReload);
  kLog.error("New certificate files do not load; keeping the previous ones",
             {{"err", st.error().message}});
  return false;
}

// Sets each tls-* file option of Redis to the value it has: Redis then loads the files again
// (docs/redis-facts.md, "TLS"). The paths are Redis' own, which may differ from the agent's
// mounts. Only an error reply is Redis' verdict on the files; a connection that breaks or times
// out said nothing about them.
CertWatch::Told CertWatch::reloadRedis(redis::Connection& local) {
  std::vector<std::string> set = {"CONFIG", "SET"};
  for (const std::string& option : kRedisFileOptions) {
    auto got = local.command({"CONFIG", "GET", option});
    if (!got && got.error().code != Errc::Server) return later(got.error());
    if (!got || got->elements.size() != 2 || got->elements[1].str.empty()) continue;
    set.push_back(option);
    set.push_back(got->elements[1].str);
  }
  if (set.size() == 2) {
    kLog.warn("The local Redis reports no certificate files; it was not told to reload");
    return Told::Yes;
  }
  auto done = local.command(set);
  if (done) return Told::Yes;
  if (done.error().code != Errc::Server) return later(done.error());
  activity_.errors.add(ErrorKind::TlsReload);
  kLog.error("The local Redis refused its new certificate files; it keeps the previous ones",
             {{"err", done.error().message}});
  return Told::Refused;
}

CertWatch::Told CertWatch::later(const Error& error) {
  kLog.warn("Cannot tell the local Redis about new certificate files yet; trying again",
            {{"err", error.message}});
  return Told::Later;
}

void CertWatch::readExpiry() {
  certificates_.clear();
  for (const auto& [file, path] :
       {std::pair{"cert", &config_.tls_cert_file}, std::pair{"ca", &config_.tls_ca_file}}) {
    if (path->empty()) continue;
    auto t = redis::pemEarliestNotAfter(*path);
    if (!t) kLog.warn("Cannot read a certificate's expiry", {{"err", t.error().message}});
    certificates_.push_back({file, *path, t ? *t : 0});
  }
}

}  // namespace agent::app
