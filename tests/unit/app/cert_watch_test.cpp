// SPDX-License-Identifier: Apache-2.0
// The certificate watch: real files (certificates made by openssl), a real watcher, the agent's
// real TLS contexts; the local Redis is a scripted stand-in that answers CONFIG GET/SET.
#include "app/cert_watch.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "common/clock.h"
#include "common/files.h"
#include "config/clients.h"
#include "redis/fake_server.h"
#include "redis/tls.h"
#include "support/fixtures.h"
#include "support/pki.h"

using namespace agent;
using agent::testing::FakePeer;
using agent::testing::FakeServer;
using agent::testing::Pki;
using agent::testing::TempDir;

namespace {

namespace fs = std::filesystem;

// One CA and three certificates it signs, told apart by their expiry; made once for every case.
struct Certificates {
  TempDir dir;
  Pki pki{dir.path()};
  Certificates() {
    pki.makeCa("ca");
    pki.makeCert("first", "ca", "DNS:redis-0", 2);
    pki.makeCert("second", "ca", "DNS:redis-0", 3);
    pki.makeCert("third", "ca", "DNS:redis-0", 4);
  }
  // The files of a Secret holding certificate `name` (its key unless another is given).
  std::map<std::string, std::string> secret(const std::string& name,
                                            const std::string& key_of = "") const {
    return {{"ca.crt", read(pki.crt("ca"))},
            {"tls.crt", read(pki.crt(name))},
            {"tls.key", read(pki.key(key_of.empty() ? name : key_of))}};
  }
  int64_t notAfter(const std::string& name) const {
    auto t = redis::pemEarliestNotAfter(pki.crt(name));
    REQUIRE(t.has_value());
    return *t;
  }
  static std::string read(const std::string& path) {
    auto text = files::read(path);
    REQUIRE(text.has_value());
    return *text;
  }
};

const Certificates& certificates() {
  static const Certificates made;
  return made;
}

// A directory laid out the way the kubelet mounts a Secret: each file is a symlink through
// `..data`, which an update points at a new directory with one rename.
class SecretVolume {
 public:
  explicit SecretVolume(std::string dir) : dir_(std::move(dir)) {}
  void update(const std::map<std::string, std::string>& files) {
    std::string version = "..v" + std::to_string(++versions_);
    fs::create_directory(dir_ + "/" + version);
    for (const auto& [name, text] : files) std::ofstream(dir_ + "/" + version + "/" + name) << text;
    fs::create_directory_symlink(version, dir_ + "/..data_tmp");
    fs::rename(dir_ + "/..data_tmp", dir_ + "/..data");
    for (const auto& [name, text] : files) {
      if (!fs::is_symlink(dir_ + "/" + name))
        fs::create_symlink("..data/" + name, dir_ + "/" + name);
    }
  }

 private:
  std::string dir_;
  int versions_ = 0;
};

// Rewrites a file where it is (same inode), as an editor or `cp` over it does.
void rewriteInPlace(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// The local Redis as the watch sees it: CONFIG GET of a tls-* file option answers the path Redis
// was started with, CONFIG SET answers +OK or the error a case sets; every CONFIG SET is kept.
class FakeLocalRedis {
 public:
  std::vector<std::vector<std::string>> sets() const {
    std::lock_guard lock(mu_);
    return sets_;
  }
  void refuseSets(std::string error) {
    std::lock_guard lock(mu_);
    set_reply_ = std::move(error);
  }
  void hangUpOnGet(bool on) { hang_up_ = on; }
  redis::Connection connect() const {
    auto conn = redis::Connection::open({"127.0.0.1", server_.port()}, {});
    REQUIRE_MESSAGE(conn.has_value(), agent::testing::errorText(conn));
    return std::move(*conn);
  }

 private:
  void serve(FakePeer& peer) {
    while (auto cmd = peer.readCommand()) {
      std::string bytes = reply(*cmd);
      if (bytes.empty() || !peer.send(bytes)) return;  // empty: hang up
    }
  }
  std::string reply(const std::vector<std::string>& cmd) {
    std::lock_guard lock(mu_);
    if (cmd.size() == 3 && cmd[1] == "GET") {
      if (hang_up_) return {};
      std::string path = "/redis/tls/" + cmd[2];
      return fmt::format("*2\r\n${}\r\n{}\r\n${}\r\n{}\r\n", cmd[2].size(), cmd[2], path.size(),
                         path);
    }
    if (cmd.size() > 2 && cmd[1] == "SET") {
      sets_.push_back(cmd);
      return set_reply_;
    }
    return "-ERR unknown command\r\n";
  }

  mutable std::mutex mu_;
  std::vector<std::vector<std::string>> sets_;
  std::string set_reply_ = "+OK\r\n";
  std::atomic<bool> hang_up_{false};
  FakeServer server_{[this](FakePeer& peer) { serve(peer); }};
};

// What this process writes to stdout (where log lines go) while the object lives.
class CapturedLog {
 public:
  CapturedLog() : file_(std::tmpfile()) {
    std::fflush(stdout);
    saved_ = ::dup(1);
    ::dup2(::fileno(file_), 1);
  }
  ~CapturedLog() {
    std::fflush(stdout);
    ::dup2(saved_, 1);
    ::close(saved_);
    std::fclose(file_);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() const {
    std::fflush(stdout);
    std::string out(static_cast<size_t>(::lseek(::fileno(file_), 0, SEEK_END)), '\0');
    ::pread(::fileno(file_), out.data(), out.size(), 0);
    return out;
  }

 private:
  std::FILE* file_;
  int saved_ = -1;
};

// A pod's agent with --tls=on and its certificate files in `dir`, watching them.
struct Pod {
  TempDir dir;
  SecretVolume volume{dir.path()};
  config::Config config;
  Activity activity;
  StopSignal wake;
  FakeLocalRedis redis;
  std::unique_ptr<app::CertWatch> watch;

  Pod() {
    config.tls = true;
    config.tls_ca_file = dir.file("ca.crt");
    config.tls_cert_file = dir.file("tls.crt");
    config.tls_key_file = dir.file("tls.key");
  }
  void start() {
    watch = std::make_unique<app::CertWatch>(config, activity);
    watch->setWake(&wake);
    watch->ensure();
  }
  // Mounts the Secret of certificate `name`, starts watching, and runs the first pass with the
  // local Redis connected (Redis started with these files: nothing to tell it).
  redis::Connection startWithSecret(const std::string& name) {
    volume.update(certificates().secret(name));
    start();
    auto local = redis.connect();
    watch->apply(&local);
    return local;
  }
  // The loop's sleep: true when the watcher woke it (a file changed) within 5 s.
  bool woken() {
    int64_t t0 = monotonicMs();
    wake.waitFor(5000);
    return monotonicMs() - t0 < 4900;
  }
  redis::TlsContextState context() const {
    return redis::tlsContextState(*config::tlsOptions(config));
  }
  int64_t published(const std::string& file) const {
    state::StateView view;
    watch->describe(view);
    for (const auto& c : view.tls_certificates) {
      if (c.file == file) return c.not_after_unix;
    }
    return -1;
  }
  int64_t reloads() const { return activity.actions.get(Action::TlsReload); }
  int64_t failures() const { return activity.errors.get(ErrorKind::TlsReload); }
};

const std::vector<std::string> kExpectedSet = {"CONFIG",           "SET",
                                               "tls-cert-file",    "/redis/tls/tls-cert-file",
                                               "tls-key-file",     "/redis/tls/tls-key-file",
                                               "tls-ca-cert-file", "/redis/tls/tls-ca-cert-file"};

}  // namespace

TEST_CASE("a Secret update wakes the loop; the agent and its Redis load the new certificate") {
  const auto& certs = certificates();
  Pod pod;
  auto local = pod.startWithSecret("first");
  // The first pass loads what Redis started with: nothing to tell it.
  CHECK(pod.context().generation == 1);
  CHECK(pod.context().cert_not_after_unix == certs.notAfter("first"));
  CHECK(pod.published("cert") == certs.notAfter("first"));
  CHECK(pod.redis.sets().empty());

  pod.volume.update(certs.secret("second"));
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  CHECK(pod.context().generation == 2);
  CHECK(pod.context().cert_not_after_unix == certs.notAfter("second"));
  CHECK(pod.published("cert") == certs.notAfter("second"));
  REQUIRE(pod.redis.sets().size() == 1);
  CHECK(pod.redis.sets()[0] == kExpectedSet);
  CHECK(pod.reloads() == 1);
  CHECK(pod.failures() == 0);

  // Passes without a change load nothing and tell Redis nothing.
  pod.watch->apply(&local);
  pod.watch->apply(&local);
  CHECK(pod.context().generation == 2);
  CHECK(pod.redis.sets().size() == 1);
  CHECK(pod.reloads() == 1);
}

TEST_CASE("files replaced in place: a certificate without its key is refused until the key comes") {
  const auto& certs = certificates();
  Pod pod;
  for (const auto& [name, text] : certs.secret("first")) rewriteInPlace(pod.dir.file(name), text);
  pod.start();
  auto local = pod.redis.connect();
  pod.watch->apply(&local);
  REQUIRE(pod.context().generation == 1);

  CapturedLog log;
  rewriteInPlace(pod.config.tls_cert_file, certs.secret("second").at("tls.crt"));
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  CHECK(pod.context().generation == 1);
  CHECK(pod.context().cert_not_after_unix == certs.notAfter("first"));
  CHECK(pod.failures() == 1);
  CHECK(pod.redis.sets().empty());
  CHECK(log.text().find("cannot use the key " + pod.config.tls_key_file) != std::string::npos);

  rewriteInPlace(pod.config.tls_key_file, certs.secret("second").at("tls.key"));
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  CHECK(pod.context().generation == 2);
  CHECK(pod.context().cert_not_after_unix == certs.notAfter("second"));
  CHECK(pod.redis.sets().size() == 1);
  CHECK(pod.reloads() == 1);
  CHECK(pod.failures() == 1);
}

TEST_CASE("unloadable certificates are refused once, the old ones stay, the next update loads") {
  const auto& certs = certificates();
  std::map<std::string, std::string> broken;
  std::string why;
  SUBCASE("garbage in the certificate file") {
    broken = certs.secret("second");
    broken["tls.crt"] = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
    why = "cannot load the certificate";
  }
  SUBCASE("a key that belongs to another certificate") {
    broken = certs.secret("second", "first");
    why = "cannot use the key";
  }
  SUBCASE("no key at all") {
    broken = certs.secret("second");
    broken.erase("tls.key");
    why = "TLS key";
  }
  Pod pod;
  auto local = pod.startWithSecret("first");

  CapturedLog log;
  pod.volume.update(broken);
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  pod.watch->apply(&local);
  CHECK(pod.context().generation == 1);
  CHECK(pod.context().cert_not_after_unix == certs.notAfter("first"));
  CHECK(pod.context().error.find(why) != std::string::npos);
  CHECK(pod.published("cert") == certs.notAfter("first"));
  CHECK(pod.redis.sets().empty());  // Redis is never handed files the agent could not load
  CHECK(pod.failures() == 1);
  CHECK(pod.reloads() == 0);
  std::string text = log.text();
  CHECK(text.find("New certificate files do not load; keeping the previous ones") !=
        std::string::npos);
  CHECK(text.find(why) != std::string::npos);

  // The next rotation, a good one, goes through.
  pod.volume.update(certs.secret("third"));
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  CHECK(pod.context().generation == 2);
  CHECK(pod.context().cert_not_after_unix == certs.notAfter("third"));
  CHECK(pod.published("cert") == certs.notAfter("third"));
  CHECK(pod.redis.sets().size() == 1);
  CHECK(pod.reloads() == 1);
  CHECK(pod.failures() == 1);
}

TEST_CASE("Redis refusing its new files is logged and counted; the next update is tried again") {
  const auto& certs = certificates();
  Pod pod;
  auto local = pod.startWithSecret("first");

  CapturedLog log;
  pod.redis.refuseSets("-ERR CONFIG SET failed - Unable to update TLS configuration.\r\n");
  pod.volume.update(certs.secret("second"));
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  pod.watch->apply(&local);
  CHECK(pod.redis.sets().size() == 1);  // not asked again until the files change
  CHECK(pod.failures() == 1);
  CHECK(pod.reloads() == 0);
  CHECK(log.text().find("The local Redis refused its new certificate files") != std::string::npos);
  CHECK(log.text().find("Unable to update TLS configuration") != std::string::npos);

  pod.redis.refuseSets("+OK\r\n");
  pod.volume.update(certs.secret("third"));
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  CHECK(pod.redis.sets().size() == 2);
  CHECK(pod.reloads() == 1);
  CHECK(pod.failures() == 1);
}

TEST_CASE("a local Redis that cannot be asked is told on a later pass") {
  const auto& certs = certificates();
  Pod pod;
  pod.volume.update(certs.secret("first"));
  pod.start();
  pod.watch->apply(nullptr);
  pod.volume.update(certs.secret("second"));
  REQUIRE(pod.woken());

  SUBCASE("Redis does not answer during the pass that sees the files") {
    pod.watch->apply(nullptr);
    CHECK(pod.context().generation == 2);  // the agent's own connections use them at once
  }
  SUBCASE("the connection breaks while the watch asks Redis") {
    pod.redis.hangUpOnGet(true);
    auto broken = pod.redis.connect();
    pod.watch->apply(&broken);
    pod.redis.hangUpOnGet(false);
  }
  CHECK(pod.redis.sets().empty());
  CHECK(pod.reloads() == 0);
  CHECK(pod.failures() == 0);  // nobody refused anything

  auto local = pod.redis.connect();
  pod.watch->apply(&local);  // no new change: the pass still owes Redis the files
  CHECK(pod.redis.sets().size() == 1);
  CHECK(pod.reloads() == 1);
  pod.watch->apply(&local);
  CHECK(pod.redis.sets().size() == 1);
}

TEST_CASE("in observe mode the agent loads new files but never tells Redis") {
  const auto& certs = certificates();
  Pod pod;
  pod.config.mode = config::Mode::Observe;
  auto local = pod.startWithSecret("first");
  pod.volume.update(certs.secret("second"));
  REQUIRE(pod.woken());
  pod.watch->apply(&local);
  CHECK(pod.context().cert_not_after_unix == certs.notAfter("second"));
  CHECK(pod.redis.sets().empty());
}
