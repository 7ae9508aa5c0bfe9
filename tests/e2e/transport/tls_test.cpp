// SPDX-License-Identifier: Apache-2.0
// TLS against real redis-server 7.0.15 (and valkey-server 8.0.1 when installed): `port 0`, a
// `tls-port`, certificates made by openssl for this run.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/clock.h"
#include "redis/connection.h"
#include "servers.h"
#include "support/fixtures.h"

using namespace agent;
using namespace agent::redis;
using namespace agent::e2e;

namespace {

constexpr int kPort = 6379;
const std::string kPodName = "redis-0.redis-headless.default.svc.cluster.local";

// One CA with a server and a client certificate, a second CA that nobody trusts, and two TLS
// servers: `open` (no client certificates) and `mtls` (tls-auth-clients yes).
struct TlsWorld {
  agent::testing::TempDir dir;
  Pki pki{dir.path()};
  std::string open_ip = testAddress(1);
  std::string mtls_ip = testAddress(2);
  std::unique_ptr<ServerProcess> open;
  std::unique_ptr<ServerProcess> mtls;

  explicit TlsWorld(const std::string& binary = "redis-server") {
    pki.makeCa("ca");
    pki.makeCa("other-ca");
    pki.makeCert("server", "ca",
                 "DNS:" + kPodName + ",DNS:localhost,IP:" + open_ip + ",IP:" + mtls_ip);
    pki.makeCert("client", "ca", "DNS:agent");
    pki.makeCert("stranger", "other-ca", "DNS:agent");
    open = start(binary, "open", open_ip, "no");
    mtls = start(binary, "mtls", mtls_ip, "yes");
  }

  std::unique_ptr<ServerProcess> start(const std::string& binary, const std::string& name,
                                       const std::string& ip, const std::string& auth_clients) {
    auto p = std::make_unique<ServerProcess>(
        binary, dir.path(), name,
        std::vector<std::string>{
            "bind " + ip, "port 0", "tls-port " + std::to_string(kPort),
            "tls-cert-file " + pki.crt("server"), "tls-key-file " + pki.key("server"),
            "tls-ca-cert-file " + pki.crt("ca"), "tls-auth-clients " + auth_clients});
    p->waitListening(ip, kPort);
    return p;
  }

  ConnectOptions options(const std::string& ca = "ca") const {
    ConnectOptions o;
    o.connect_timeout_ms = 2000;
    o.command_timeout_ms = 2000;
    o.tls = TlsOptions{};
    o.tls->ca_file = pki.crt(ca);
    return o;
  }
  ConnectOptions withClientCert(const std::string& cert = "client") const {
    ConnectOptions o = options();
    o.tls->cert_file = pki.crt(cert);
    o.tls->key_file = pki.key(cert);
    return o;
  }
};

Result<Connection> dial(const std::string& ip, const ConnectOptions& o) {
  return Connection::open({ip, kPort}, o);
}

}  // namespace

TEST_CASE("TLS against redis-server: verification, names, client certificates") {
  TlsWorld w;
  SUBCASE("the chain verifies; commands, pipelines and the server's identity work") {
    auto conn = dial(w.open_ip, w.options());
    REQUIRE_MESSAGE(conn.has_value(), agent::testing::errorText(conn));
    CHECK(conn->isTls());
    CHECK(*conn->commandString({"PING"}) == "PONG");
    auto server = conn->server();
    REQUIRE(server);
    CHECK(server->str() == "redis 7.0.15");
    std::vector<std::vector<std::string>> cmds;
    for (int i = 0; i < 1000; ++i) cmds.push_back({"SET", "k" + std::to_string(i), "v"});
    auto replies = conn->pipeline(cmds);
    REQUIRE(replies);
    CHECK(replies->size() == 1000);
    std::string big(1 << 20, 'b');
    REQUIRE(conn->command({"SET", "big", big}));
    CHECK(conn->commandString({"GET", "big"})->size() == big.size());
  }
  SUBCASE("the expected name is checked when set: DNS name and IP") {
    ConnectOptions o = w.options();
    o.tls->server_name = kPodName;
    o.tls->sni = true;
    CHECK(dial(w.open_ip, o));
    o.tls->server_name = w.open_ip;
    CHECK(dial(w.open_ip, o));
  }
  SUBCASE("a wrong name is refused, naming the name") {
    ConnectOptions o = w.options();
    o.tls->server_name = "redis-9.redis-headless.other.svc.cluster.local";
    auto conn = dial(w.open_ip, o);
    REQUIRE_FALSE(conn);
    CHECK(conn.error().code == Errc::Transport);
    CHECK(conn.error().message ==
          w.open_ip +
              ":6379: TLS: the server's certificate is not valid for "
              "'redis-9.redis-headless.other.svc.cluster.local' (name verification)");
  }
  SUBCASE("a certificate from another CA is refused with OpenSSL's reason") {
    auto conn = dial(w.open_ip, w.options("other-ca"));
    REQUIRE_FALSE(conn);
    CAPTURE(conn.error().message);
    CHECK(conn.error().code == Errc::Transport);
    // OpenSSL's words depend on what the server sends ("unable to get local issuer
    // certificate", "self-signed certificate in certificate chain").
    CHECK(conn.error().message.rfind(w.open_ip + ":6379: TLS: the server's certificate failed "
                                                 "verification: ",
                                     0) == 0);
  }
  SUBCASE("tls-auth-clients yes: works with the client certificate") {
    auto conn = dial(w.mtls_ip, w.withClientCert());
    REQUIRE_MESSAGE(conn.has_value(), agent::testing::errorText(conn));
    CHECK(*conn->commandString({"PING"}) == "PONG");
  }
  SUBCASE("tls-auth-clients yes: without one, or with a stranger's, it fails and says why") {
    for (const ConnectOptions& o : {w.options(), w.withClientCert("stranger")}) {
      auto conn = dial(w.mtls_ip, o);
      Error err = conn ? conn->command({"PING"}).error() : conn.error();
      CAPTURE(err.message);
      CHECK(err.code == Errc::Transport);
      CHECK((err.message.find("requires a client certificate") != std::string::npos ||
             err.message.find("does not accept the client certificate") != std::string::npos ||
             err.message.find("it may require a client certificate") != std::string::npos));
    }
  }
  SUBCASE("a plaintext connection to the TLS port fails cleanly within the deadline") {
    ConnectOptions o = w.options();
    o.tls.reset();
    o.command_timeout_ms = 1000;
    int64_t t0 = monotonicMs();
    auto conn = dial(w.open_ip, o);
    Error err = conn ? conn->command({"PING"}).error() : conn.error();
    CAPTURE(err.message);
    CHECK(err.code == Errc::Transport);  // Redis resets it at once
    CHECK(err.message.find("if it serves TLS only, connect with TLS (agent: --tls=on") !=
          std::string::npos);
    CHECK(monotonicMs() - t0 < 1500);
  }
  SUBCASE("a command the server holds ends at the deadline, over TLS too") {
    ConnectOptions o = w.options();
    o.command_timeout_ms = 300;
    auto conn = dial(w.open_ip, o);
    REQUIRE(conn);
    int64_t t0 = monotonicMs();
    auto r = conn->command({"BLPOP", "nothing", "5"});
    int64_t took = monotonicMs() - t0;
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Timeout);
    CHECK(took >= 290);
    CHECK(took < 1000);
  }
}

TEST_CASE("a TLS client against a plaintext port fails within the connect deadline") {
  agent::testing::TempDir dir;
  Pki pki(dir.path());
  pki.makeCa("ca");
  std::string ip = testAddress(3);
  ServerProcess plain("redis-server", dir.path(), "plain",
                      {"bind " + ip, "port " + std::to_string(kPort)});
  plain.waitListening(ip, kPort);
  ConnectOptions o;
  o.connect_timeout_ms = 1000;
  o.tls = TlsOptions{pki.crt("ca")};
  int64_t t0 = monotonicMs();
  auto conn = dial(ip, o);
  REQUIRE_FALSE(conn);
  CAPTURE(conn.error().message);
  // Redis reads the ClientHello as the start of an inline command: it waits for a newline
  // (Timeout), or answers an error when one of the hello's random bytes is one (Transport).
  CHECK((conn.error().code == Errc::Transport || conn.error().code == Errc::Timeout));
  CHECK(conn.error().message.find("TLS handshake") != std::string::npos);
  CHECK(conn.error().message.find("is this Redis' tls-port, or is TLS off on this Redis "
                                  "(agent: --tls=off)?") != std::string::npos);
  CHECK(monotonicMs() - t0 < 1500);
}

namespace {

// Replaces `path` by rename, as a Secret volume update does (a new inode under the same name).
void swapIn(const std::string& path, const std::string& from) {
  std::filesystem::copy_file(from, path + ".new",
                             std::filesystem::copy_options::overwrite_existing);
  REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
}

}  // namespace

TEST_CASE("certificates rotate without a restart: new connections use the new files") {
  TlsWorld w;
  std::string cert = w.dir.file("tls.crt");
  std::string key = w.dir.file("tls.key");
  swapIn(cert, w.pki.crt("stranger"));
  swapIn(key, w.pki.key("stranger"));
  ConnectOptions o = w.options();
  o.tls->cert_file = cert;
  o.tls->key_file = key;

  auto kept = dial(w.open_ip, o);  // a server that asks for no client certificate
  REQUIRE_MESSAGE(kept.has_value(), agent::testing::errorText(kept));
  uint64_t first = tlsContextState(*o.tls).generation;
  CHECK(first == 1);
  auto refused = dial(w.mtls_ip, o);
  CHECK_FALSE((refused && refused->command({"PING"})));

  swapIn(cert, w.pki.crt("client"));
  swapIn(key, w.pki.key("client"));
  auto conn = dial(w.mtls_ip, o);
  REQUIRE_MESSAGE(conn.has_value(), agent::testing::errorText(conn));
  CHECK(*conn->commandString({"PING"}) == "PONG");
  CHECK(tlsContextState(*o.tls).generation == first + 1);
  CHECK(tlsContextState(*o.tls).cert_not_after_unix > wallMs() / 1000);
  CHECK(*kept->commandString({"PING"}) == "PONG");  // the old connection keeps its context

  // A rotation caught half-way (a key that does not match) keeps the last good context.
  swapIn(key, w.pki.key("stranger"));
  auto still = dial(w.mtls_ip, o);
  REQUIRE_MESSAGE(still.has_value(), agent::testing::errorText(still));
  CHECK(*still->commandString({"PING"}) == "PONG");
  TlsContextState state = tlsContextState(*o.tls);
  CHECK(state.generation == first + 1);
  CHECK(state.error.find("cannot use the key") != std::string::npos);
  CHECK_FALSE(reloadTlsContext(*o.tls));
  swapIn(key, w.pki.key("client"));
  CHECK(reloadTlsContext(*o.tls));
  CHECK(tlsContextState(*o.tls).error.empty());
}

TEST_CASE("TLS against valkey-server 8, when installed") {
  if (findProgram("valkey-server").empty()) {
    MESSAGE("valkey-server is not installed; skipped");
    return;
  }
  TlsWorld w("valkey-server");
  ConnectOptions o = w.options();
  o.tls->server_name = kPodName;
  auto conn = dial(w.open_ip, o);
  REQUIRE_MESSAGE(conn.has_value(), agent::testing::errorText(conn));
  auto server = conn->server();
  REQUIRE(server);
  CHECK(server->str() == "valkey 8.0.1");
  CHECK(supportedServer(*server));
  auto mtls = dial(w.mtls_ip, w.withClientCert());
  REQUIRE_MESSAGE(mtls.has_value(), agent::testing::errorText(mtls));
  CHECK(*mtls->commandString({"PING"}) == "PONG");
}
