// SPDX-License-Identifier: Apache-2.0
// The TLS flags and what every client of the agent gets from them (config/clients.h).
#include <doctest/doctest.h>

#include "config/clients.h"
#include "config/config.h"

using namespace agent;
using Args = std::vector<std::string>;

namespace {
Result<config::Config> parse(Args args, Args env = {}) {
  args.insert(args.begin(), "redis-cluster-agent");
  return config::parse(args, env);
}
const std::string kTmpl = "--peer-host-template=redis-{ordinal}.h.ns.svc";
const Args kFiles = {"--tls-ca-file=/tls/ca.crt", "--tls-cert-file=/tls/tls.crt",
                     "--tls-key-file=/tls/tls.key"};
Args with(Args args, const Args& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}
}  // namespace

TEST_CASE("TLS is off unless asked for; then every client uses it") {
  auto plain = parse({"run", "--pod-name=redis-2", kTmpl});
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->tls);
  CHECK_FALSE(config::redisOptions(*plain, std::nullopt).tls);
  CHECK_FALSE(config::peerPoolOptions(*plain, std::nullopt).connect.tls);

  auto c = parse(with({"run", "--pod-name=redis-2", kTmpl}, kFiles), {"AGENT_TLS=on"});
  REQUIRE(c.has_value());
  auto local = config::redisOptions(*c, std::nullopt);
  REQUIRE(local.tls);
  CHECK(local.tls->ca_file == "/tls/ca.crt");
  CHECK(local.tls->cert_file == "/tls/tls.crt");
  CHECK(local.tls->key_file == "/tls/tls.key");
  // The local Redis proves this pod's name; the pool sets each peer's own name per connection.
  CHECK(local.tls->server_name == "redis-2.h.ns.svc");
  auto pool = config::peerPoolOptions(*c, std::nullopt);
  REQUIRE(pool.connect.tls);
  CHECK(pool.verify_names);
  CHECK(pool.connect.tls->server_name.empty());
}

TEST_CASE("--tls-verify=chain checks no names") {
  auto c =
      parse(with({"run", "--pod-name=redis-2", kTmpl, "--tls=on", "--tls-verify=chain"}, kFiles));
  REQUIRE(c.has_value());
  CHECK(config::redisOptions(*c, std::nullopt).tls->server_name.empty());
  CHECK_FALSE(config::peerPoolOptions(*c, std::nullopt).verify_names);
  CHECK_FALSE(config::serverNames(*c));
}

TEST_CASE("half a TLS setup is refused with what to fix") {
  auto files_only = parse(with({"status", kTmpl}, kFiles));
  REQUIRE_FALSE(files_only.has_value());
  CHECK(files_only.error().message.find("need --tls=on") != std::string::npos);
  auto no_key = parse({"status", kTmpl, "--tls=on", "--tls-cert-file=/tls/tls.crt"});
  REQUIRE_FALSE(no_key.has_value());
  CHECK(no_key.error().message.find("give both or neither") != std::string::npos);
  auto bad = parse({"status", kTmpl, "--tls=yes"});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("expected on or off") != std::string::npos);
  CHECK_FALSE(parse({"status", kTmpl, "--tls=on", "--tls-verify=none"}).has_value());
  // TLS with the system's CA store and no client certificate is a valid choice.
  CHECK(parse({"status", kTmpl, "--tls=on"}).has_value());
}
