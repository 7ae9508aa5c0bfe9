// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <doctest/doctest.h>

using namespace agent;
using Args = std::vector<std::string>;

namespace {
Result<config::Config> parse(Args args, Args env = {}) {
  args.insert(args.begin(), "redis-cluster-agent");
  return config::parse(args, env);
}
const std::string kTmpl = "--peer-host-template=redis-{ordinal}.svc";
}  // namespace

TEST_CASE("defaults") {
  auto c = parse({"prepare", "--pod-ip", "10.0.0.1"});
  REQUIRE(c.has_value());
  CHECK(c->nodes_conf == "/data/nodes.conf");
  CHECK(c->data_dir == "/data");
  CHECK(c->redis.str() == "127.0.0.1:6379");
  CHECK(c->http.port == 9839);
  CHECK(c->cluster_nodes == 6);
  CHECK(c->log_format == log::Format::Text);
}

TEST_CASE("environment fills in, flags win") {
  auto c = parse({"run", "--pod-name=redis-4", kTmpl, "--cluster-nodes", "9"},
                 {"POD_NAME=redis-2", "AGENT_CLUSTER_NODES=12", "AGENT_CLUSTER_REPLICAS=2",
                  "POD_IP=10.1.2.3", "PATH=/bin"});
  REQUIRE(c.has_value());
  CHECK(c->ordinal == 4);
  CHECK(c->cluster_nodes == 9);
  CHECK(c->cluster_replicas == 2);
  CHECK(c->pod_ip == "10.1.2.3");
  CHECK(c->peerHost(7) == "redis-7.svc");
}

TEST_CASE("every error is one clear line") {
  struct Case {
    Args args;
    Args env;
    const char* expected;
  };
  const Case cases[] = {
      {{"run", "--bogus"}, {}, "unknown flag --bogus for 'run'"},
      {{"launch"}, {}, "unknown command 'launch'"},
      {{"prepare", "--pod-ip=10.0.0.1"},
       {"AGENT_NODE_CONF=/x"},
       "unknown environment variable AGENT_NODE_CONF"},
      {{"run", "--pod-name=redis", kTmpl}, {}, "invalid --pod-name 'redis'"},
      {{"run", "--pod-name=redis-0", kTmpl, "--cluster-nodes=abc"},
       {},
       "invalid --cluster-nodes 'abc'"},
      {{"run", "--pod-name=redis-0", kTmpl, "--cluster-nodes=4"}, {}, "fewer than 3 masters"},
      {{"run", "--pod-name=redis-0", "--peer-host-template=redis.svc"},
       {},
       "must contain {ordinal}"},
      {{"run", "--pod-name=redis-0"}, {}, "run needs --peer-host-template"},
      {{"run", "--pod-name=redis-0", kTmpl, "--http-addr=9839"}, {}, "invalid --http-addr"},
      {{"run", "--pod-name=redis-0", kTmpl},
       {"AGENT_LOG_FORMAT=xml"},
       "invalid --log-format 'xml': expected text or json (from AGENT_LOG_FORMAT)"},
      {{"run", "--pod-name=redis-0", kTmpl, "--poll-interval=soon"}, {}, "invalid --poll-interval"},
      {{"prepare"}, {}, "prepare needs --pod-ip"},
      {{"prepare", "--pod-ip=not-an-ip"}, {}, "invalid --pod-ip"},
      {{"prepare", "--pod-ip"}, {}, "--pod-ip needs a value"},
      {{"status", "--mode=observe"}, {}, "unknown flag --mode for 'status'"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.args, c.env);
    REQUIRE_FALSE(r.has_value());
    CHECK_MESSAGE(r.error().message.find(c.expected) != std::string::npos, r.error().message);
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
}

TEST_CASE("host:port accepts IPv6 in brackets") {
  auto hp = config::parseHostPort("[fd00::1]:6379");
  REQUIRE(hp.has_value());
  CHECK(hp->host == "fd00::1");
  CHECK(hp->str() == "[fd00::1]:6379");
  CHECK_FALSE(config::parseHostPort("host:0"));
  CHECK_FALSE(config::parseHostPort(":6379"));
}

TEST_CASE("--help works per command and lists env names") {
  auto c = parse({"run", "--help"});
  REQUIRE(c.has_value());
  CHECK(c->help);
  auto text = config::commandUsage(config::Command::Run);
  CHECK(text.find("--peer-host-template") != std::string::npos);
  CHECK(text.find("AGENT_PEER_HOST_TEMPLATE") != std::string::npos);
  CHECK(config::commandUsage(config::Command::Prepare).find("--mode") == std::string::npos);
}

TEST_CASE("IPv6 pod IP and JSON logs") {
  auto c = parse({"prepare", "--pod-ip=fd00::12", "--log-format=json", "--log-level=debug",
                  "--nodes-conf=nodes.conf"});
  REQUIRE(c.has_value());
  CHECK(c->pod_ip == "fd00::12");
  CHECK(c->log_format == log::Format::Json);
  CHECK(c->log_level == log::Level::Debug);
  CHECK(c->data_dir == ".");
}
