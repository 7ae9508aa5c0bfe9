// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <doctest/doctest.h>

#include "support/fixtures.h"

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

TEST_CASE("defaults live in the option table: Config() and parse() agree") {
  config::Config fresh;
  CHECK(fresh.nodes_conf == "/data/nodes.conf");
  CHECK(fresh.runtime_dir == "/run/redis-cluster-agent");
  CHECK(fresh.redis.str() == "127.0.0.1:6379");
  CHECK(fresh.redis_timeout_ms == 1000);
  CHECK(fresh.http.str() == "0.0.0.0:9839");
  CHECK(fresh.poll_interval_ms == 1000);
  CHECK(fresh.cluster_nodes == 6);
  CHECK(fresh.cluster_replicas == 1);
  CHECK(fresh.handover_timeout_ms == 20000);
  CHECK(fresh.takeover_timeout_ms == 120000);
  CHECK(fresh.dns_wait_ms == 5000);
  CHECK(fresh.mode == config::Mode::Act);
  CHECK(fresh.log_level == log::Level::Info);
  auto parsed = parse({"handover"});
  REQUIRE(parsed.has_value());
  CHECK(parsed->handover_timeout_ms == fresh.handover_timeout_ms);
  CHECK(parsed->runtime_dir == fresh.runtime_dir);
}

TEST_CASE("--takeover-timeout is a flag of prepare with its variable") {
  auto c = parse({"prepare", "--pod-ip=10.0.0.1", "--takeover-timeout=30s"});
  REQUIRE(c.has_value());
  CHECK(c->takeover_timeout_ms == 30000);
  auto env = parse({"prepare", "--pod-ip=10.0.0.1"}, {"AGENT_TAKEOVER_TIMEOUT=1m"});
  REQUIRE(env.has_value());
  CHECK(env->takeover_timeout_ms == 60000);
  auto bad = parse({"prepare", "--pod-ip=10.0.0.1", "--takeover-timeout=soon"});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("invalid --takeover-timeout 'soon'") != std::string::npos);
  CHECK_FALSE(parse({"run", "--pod-name=redis-0", kTmpl, "--takeover-timeout=1s"}));
}

TEST_CASE("--server is a flag of prepare: redis or valkey") {
  CHECK(parse({"prepare", "--pod-ip=10.0.0.1"})->server == config::Server::Redis);
  CHECK(parse({"prepare", "--pod-ip=10.0.0.1", "--server=valkey"})->server ==
        config::Server::Valkey);
  CHECK(parse({"prepare", "--pod-ip=10.0.0.1"}, {"AGENT_SERVER=valkey"})->server ==
        config::Server::Valkey);
  auto bad = parse({"prepare", "--pod-ip=10.0.0.1", "--server=keydb"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("expected redis or valkey") != std::string::npos);
  // The chart gives every agent container the same variables; run ignores this one.
  CHECK(parse({"run", "--pod-name=redis-0", kTmpl}, {"AGENT_SERVER=valkey"}));
}

TEST_CASE("the handover client reads the same table, leniently") {
  Args client = {"redis-cluster-agent-handover"};
  auto lenient = [&](Args args, Args env) {
    args.insert(args.begin(), client.begin(), client.end());
    return config::parseCommandLine(config::Command::Handover, args, env,
                                    config::EnvPolicy::Lenient);
  };
  auto c = lenient({"--timeout=3s"}, {"AGENT_RUNTIME_DIR=/shared", "AGENT_HANDOVER_TIMEOUT=9s"});
  REQUIRE(c.has_value());
  CHECK(c->handover_timeout_ms == 3000);
  CHECK(c->socketPath() == "/shared/agent.sock");
  // The redis container's environment is not the agent's: strays and empty values are ignored.
  auto strays = lenient({}, {"AGENT_SOMETHING_ELSE=1", "AGENT_HANDOVER_TIMEOUT="});
  REQUIRE(strays.has_value());
  CHECK(strays->handover_timeout_ms == 20000);
  CHECK_FALSE(lenient({"--timeout=50ms"}, {}));
  CHECK_FALSE(lenient({"--bogus"}, {}));
  CHECK(lenient({"--help"}, {})->help);
  std::string help =
      config::commandUsage(config::Command::Handover, "redis-cluster-agent-handover");
  CHECK(help.find("Usage: redis-cluster-agent-handover [flags]") != std::string::npos);
  CHECK(help.find("AGENT_HANDOVER_TIMEOUT, default 20s") != std::string::npos);
  // The agent's own `handover` command stays strict.
  CHECK_FALSE(parse({"handover"}, {"AGENT_SOMETHING_ELSE=1"}));
}

TEST_CASE("the README's flag table is the option table") {
  std::string readme =
      agent::testing::readData("../../README.md");  // tests/data/../../ is the source root
  const std::string start = "<!-- flags-table:start -->\n";
  const std::string end = "<!-- flags-table:end -->";
  auto from = readme.find(start);
  auto to = readme.find(end);
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  std::string documented = readme.substr(from + start.size(), to - from - start.size());
  CHECK_MESSAGE(documented == config::flagsMarkdown(),
                "README.md's flag table differs; replace it with:\n"
                    << config::flagsMarkdown());
}

// Issue 12, defect 6: values that used to be accepted and then did harm.
TEST_CASE("a pod IP must be an address Redis can parse") {
  for (const char* ip : {"10.0.0.1", "fd00::12", "::ffff:10.1.2.3"}) {
    auto c = parse({"prepare", std::string("--pod-ip=") + ip});
    REQUIRE_MESSAGE(c.has_value(), ip);
    CHECK(c->pod_ip == ip);
  }
  for (const char* ip : {"999.999.999.999", "10.0.0", "1.2.3.4.5", "::g", "10.0.0.1:6379", "."}) {
    auto c = parse({"prepare", std::string("--pod-ip=") + ip});
    REQUIRE_FALSE_MESSAGE(c.has_value(), ip);
    CHECK(c.error().message ==
          std::string("invalid --pod-ip '") + ip + "': expected an IPv4 or IPv6 address");
  }
  auto from_env = parse({"prepare"}, {"POD_IP=999.999.999.999"});
  REQUIRE_FALSE(from_env.has_value());
  CHECK(from_env.error().message.find("(from POD_IP)") != std::string::npos);
}

TEST_CASE("durations are bounded above, so derived limits cannot overflow") {
  auto run = [](const std::string& interval) {
    return parse({"run", "--pod-name=redis-0", kTmpl, "--poll-interval=" + interval});
  };
  REQUIRE(run("10m").has_value());
  CHECK(run("10m")->poll_interval_ms == 600000);
  for (const char* absurd : {"11m", "9223372036854775807", "1e300s", "100000000000000m"}) {
    auto c = run(absurd);
    REQUIRE_FALSE_MESSAGE(c.has_value(), absurd);
    CHECK(c.error().message.find("from 50ms to 600s") != std::string::npos);
  }
  auto handover = config::parseCommandLine(config::Command::Handover, {"h", "--timeout=2h"}, {},
                                           config::EnvPolicy::Strict);
  CHECK_FALSE(handover.has_value());
}

TEST_CASE("a switch takes true, false or nothing, and refuses anything else") {
  auto status = [](Args extra) {
    Args args{"status", kTmpl};
    args.insert(args.end(), extra.begin(), extra.end());
    return parse(args);
  };
  CHECK(status({"--json"})->json);
  CHECK(status({"--json=true"})->json);
  CHECK_FALSE(status({"--json=false"})->json);
  CHECK_FALSE(status({})->json);
  auto bad = status({"--json=no"});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "invalid --json 'no': expected true or false (or the flag alone)");
  CHECK_FALSE(status({"--json", "false"}).has_value());  // a switch takes no separate value
}
