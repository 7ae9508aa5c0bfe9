// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "app/rebalance_command.h"
#include "app/scale_command.h"

using namespace agent;

namespace {

app::MigrateFlags flagsOf(std::vector<std::string> args) {
  args.insert(args.begin(), {"redis-cluster-agent", "scale"});
  app::MigrateFlags f;
  for (size_t i = 2; i < args.size(); ++i) {
    auto known = app::parseMigrateFlag(f, args, i);
    REQUIRE(known);
    REQUIRE(*known);
  }
  return f;
}

// Sets an environment variable for one scope (the verbs read the agent's AGENT_* variables).
struct EnvVar {
  EnvVar(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~EnvVar() { ::unsetenv(name_); }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;
  const char* name_;
};

}  // namespace

TEST_CASE("the verbs connect in plaintext unless the agent's TLS flags or variables say TLS") {
  auto plain = app::connectFrom(flagsOf({"--seed", "10.0.0.1:6379"}));
  REQUIRE(plain);
  CHECK_FALSE(plain->options.tls);
  CHECK_FALSE(plain->options.tls_name_for);

  auto tls = app::connectFrom(
      flagsOf({"--seed", "10.0.0.1:6379", "--tls", "on", "--tls-ca-file", "/s/ca.crt",
               "--tls-cert-file=/s/tls.crt", "--tls-key-file", "/s/tls.key", "--peer-host-template",
               "redis-{ordinal}.redis-headless"}));
  REQUIRE(tls);
  REQUIRE(tls->options.tls);
  CHECK(tls->options.tls->ca_file == "/s/ca.crt");
  CHECK(tls->options.tls->cert_file == "/s/tls.crt");
  CHECK(tls->options.tls->key_file == "/s/tls.key");
  CHECK(tls->options.tls->server_name.empty());  // per server: tls_name_for
  REQUIRE(tls->options.tls_name_for);
  // A seed given by name proves that name; a pod name is its own.
  CHECK(tls->options.tls_name_for("redis-0.redis-headless") == "redis-0.redis-headless");

  // Chain only: no names to check.
  auto chain = app::connectFrom(flagsOf(
      {"--seed", "10.0.0.1:6379", "--tls=on", "--tls-ca-file=/s/ca.crt", "--tls-verify", "chain"}));
  REQUIRE(chain);
  CHECK(chain->options.tls);
  CHECK_FALSE(chain->options.tls_name_for);
}

TEST_CASE("in an agent's container the verbs take its TLS settings from AGENT_* variables") {
  EnvVar tls("AGENT_TLS", "on");
  EnvVar ca("AGENT_TLS_CA_FILE", "/run/secrets/tls/ca.crt");
  EnvVar other("AGENT_POLL_INTERVAL", "1s");  // run's; no concern of a verb
  auto c = app::connectFrom(flagsOf({"--seed", "127.0.0.1:6379"}));
  REQUIRE(c);
  REQUIRE(c->options.tls);
  CHECK(c->options.tls->ca_file == "/run/secrets/tls/ca.crt");
  // A flag wins over its variable.
  auto off = app::connectFrom(flagsOf({"--seed", "127.0.0.1:6379", "--tls=off", "--tls-ca-file="}));
  REQUIRE(off);
  CHECK_FALSE(off->options.tls);
}

TEST_CASE("a bad TLS setting stops the verb with the agent's own message") {
  auto bad = app::connectFrom(flagsOf({"--seed", "10.0.0.1:6379", "--tls", "maybe"}));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("--tls") != std::string::npos);
  auto half = app::connectFrom(
      flagsOf({"--seed", "10.0.0.1:6379", "--tls=on", "--tls-cert-file=/s/tls.crt"}));
  REQUIRE_FALSE(half);
  CHECK(half.error().message.find("--tls-key-file") != std::string::npos);
  app::MigrateFlags f;
  std::vector<std::string> args = {"redis-cluster-agent", "scale", "--tls-verify"};
  size_t i = 2;
  CHECK_FALSE(app::parseMigrateFlag(f, args, i));  // needs a value
}

TEST_CASE("scale --help prints its usage and exits 0, without touching a cluster") {
  CHECK(app::runScale({"redis-cluster-agent", "scale", "--help"}) == 0);
  CHECK(app::runScale({"redis-cluster-agent", "scale", "--to", "8", "-h"}) == 0);
  CHECK(app::runScale({"redis-cluster-agent", "scale"}) == 2);  // --to is required
}
