// SPDX-License-Identifier: Apache-2.0
#include "config/options.h"

#include <arpa/inet.h>

#include <algorithm>

#include "common/text.h"

namespace agent::config {

namespace {

// The commands that talk to Redis or log. The handover only talks to the agent's socket and
// prints its answer, so the Redis and logging options would do nothing there.
const std::vector<Command> kRedisCommands = {Command::Prepare, Command::Run, Command::Status};

constexpr int64_t kMinute = int64_t{60} * 1000;

Setter setString(std::string Config::*field) {
  return [field](Config& c, std::string_view v) -> Status {
    c.*field = std::string(v);
    return {};
  };
}

Setter setInt(int Config::*field, std::string_view flag, int lo, int hi) {
  return [=](Config& c, std::string_view v) -> Status {
    auto n = text::parseInt(v);
    if (!n || *n < lo || *n > hi) {
      return invalid(flag, v,
                     text::concat({"expected a whole number from ", std::to_string(lo), " to ",
                                   std::to_string(hi)}));
    }
    c.*field = static_cast<int>(*n);
    return {};
  };
}

// Durations have an upper bound too: derived limits (liveness is 3 x --poll-interval) must not
// overflow, and a typo of a few digits must not make a wait last for years.
Setter setDuration(int64_t Config::*field, std::string_view flag, int64_t min_ms, int64_t max_ms) {
  return [=](Config& c, std::string_view v) -> Status {
    auto ms = text::parseDurationMs(v);
    if (!ms || *ms < min_ms || *ms > max_ms) {
      return invalid(
          flag, v,
          text::concat({"expected a duration like 500ms or 2s, from ", std::to_string(min_ms),
                        "ms to ", std::to_string(max_ms / 1000), "s"}));
    }
    c.*field = *ms;
    return {};
  };
}

Setter setHostPort(HostPort Config::*field, std::string_view flag) {
  return [=](Config& c, std::string_view v) -> Status {
    auto hp = parseHostPort(v);
    if (!hp) return invalid(flag, v, hp.error().message);
    c.*field = *hp;
    return {};
  };
}

// A setter for an option whose values are a fixed list of words.
template <class T>
Setter setChoice(T Config::*field, std::string_view flag,
                 std::vector<std::pair<std::string_view, T>> choices, std::string_view expected) {
  return [=](Config& c, std::string_view v) -> Status {
    for (const auto& [name, value] : choices) {
      if (v == name) {
        c.*field = value;
        return {};
      }
    }
    return invalid(flag, v, expected);
  };
}

Status setCrashPoint(Config& c, std::string_view v) {
  static const std::string_view kPoints[] = {"",          "shorten", "slots",         "epochs",
                                             "meet-half", "meet",    "replicate-half"};
  if (std::find(std::begin(kPoints), std::end(kPoints), v) == std::end(kPoints)) {
    return invalid("crash-after", v,
                   "expected shorten, slots, epochs, meet-half, meet or replicate-half");
  }
  c.crash_after = std::string(v);
  return {};
}

Status setPodName(Config& c, std::string_view v) {
  c.pod_name = std::string(v);
  c.ordinal.reset();
  if (v.empty()) return {};
  size_t dash = v.rfind('-');
  auto n = dash == std::string_view::npos ? std::nullopt : text::parseUint(v.substr(dash + 1));
  if (!n || *n > 100000) {
    return invalid("pod-name", v, "a StatefulSet pod name ends in -<ordinal>, e.g. redis-0");
  }
  c.ordinal = static_cast<int>(*n);
  return {};
}

// Goes into nodes.conf and cluster-announce-ip, so it must be an address Redis can parse.
Status setPodIp(Config& c, std::string_view v) {
  std::string ip(v);
  unsigned char buf[sizeof(in6_addr)];
  if (!ip.empty() && ::inet_pton(AF_INET, ip.c_str(), buf) != 1 &&
      ::inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
    return invalid("pod-ip", v, "expected an IPv4 or IPv6 address");
  }
  c.pod_ip = std::move(ip);
  return {};
}

// A switch: `--json` alone means true; `--json=true` and `--json=false` say it explicitly.
Setter setSwitch(bool Config::*field, std::string_view flag) {
  return [=](Config& c, std::string_view v) -> Status {
    if (v.empty() || v == "true") {
      c.*field = true;
    } else if (v == "false") {
      c.*field = false;
    } else {
      return invalid(flag, v, "expected true or false (or the flag alone)");
    }
    return {};
  };
}

const Setter kSetLogFormat =
    setChoice(&Config::log_format, "log-format",
              {{"text", log::Format::Text}, {"json", log::Format::Json}}, "expected text or json");
const Setter kSetLogLevel = setChoice(&Config::log_level, "log-level",
                                      {{"trace", log::Level::Trace},
                                       {"debug", log::Level::Debug},
                                       {"info", log::Level::Info},
                                       {"warn", log::Level::Warn},
                                       {"error", log::Level::Error}},
                                      "expected trace, debug, info, warn or error");
const Setter kSetTls =
    setChoice(&Config::tls, "tls", {{"off", false}, {"on", true}}, "expected on or off");
const Setter kSetTlsVerify =
    setChoice(&Config::tls_verify, "tls-verify",
              {{"name", TlsVerify::Name}, {"chain", TlsVerify::Chain}}, "expected name or chain");
const Setter kSetServer =
    setChoice(&Config::server, "server", {{"redis", Server::Redis}, {"valkey", Server::Valkey}},
              "expected redis or valkey");
const Setter kSetMode =
    setChoice(&Config::mode, "mode", {{"act", Mode::Act}, {"observe", Mode::Observe}},
              "expected act or observe");
const Setter kSetLayoutKeeper = setChoice(&Config::layout_keeper, "layout-keeper",
                                          {{"ordinals", LayoutKeeper::Ordinals},
                                           {"spread", LayoutKeeper::Spread},
                                           {"off", LayoutKeeper::Off}},
                                          "expected ordinals, spread or off");

// The options of the pod itself and of where it runs.
void podOptions(std::vector<Option>& out) {
  out.push_back({"pod-ip",
                 "POD_IP",
                 "IP",
                 "",
                 "",
                 "this pod's IP (downward API status.podIP)",
                 {Command::Prepare, Command::Run},
                 setPodIp});
  out.push_back({"pod-name",
                 "POD_NAME",
                 "NAME",
                 "",
                 "ordinal = trailing `-N`",
                 "this pod's name; its ordinal is the trailing -N",
                 {Command::Prepare, Command::Run, Command::Status},
                 setPodName});
  out.push_back({"node-name",
                 "NODE_NAME",
                 "NAME",
                 "",
                 "Kubernetes node, for replica placement",
                 "the Kubernetes node this pod runs on (spec.nodeName), for replica placement",
                 {Command::Run},
                 setString(&Config::node_name)});
  out.push_back({"zone",
                 "AGENT_ZONE",
                 "ZONE",
                 "",
                 "none",
                 "this pod's zone (e.g. its node's topology.kubernetes.io/zone): masters are "
                 "spread over zones and replicas kept out of their master's zone; empty = none",
                 {Command::Run},
                 setString(&Config::zone)});
}

// The options of the pod's files, its start and its local Redis.
void fileOptions(std::vector<Option>& out) {
  out.push_back({"nodes-conf",
                 "AGENT_NODES_CONF",
                 "PATH",
                 "/data/nodes.conf",
                 "",
                 "Redis' cluster-config-file",
                 {Command::Prepare, Command::Run, Command::Status},
                 setString(&Config::nodes_conf)});
  out.push_back({"data-dir",
                 "AGENT_DATA_DIR",
                 "DIR",
                 "",
                 "directory of `--nodes-conf`",
                 "Redis' dir (dump.rdb, appendonly files); defaults to the directory of "
                 "--nodes-conf",
                 {Command::Prepare},
                 setString(&Config::data_dir)});
  out.push_back({"include-file",
                 "AGENT_INCLUDE_FILE",
                 "PATH",
                 "",
                 "none",
                 "redis.conf include that prepare writes (mode 0600: requirepass/masterauth) and "
                 "run keeps in step during a password rotation; empty = none",
                 {Command::Prepare, Command::Run},
                 setString(&Config::include_file)});
  out.push_back({"server",
                 "AGENT_SERVER",
                 "redis|valkey",
                 "redis",
                 "`valkey`: pod names in Valkey's logs",
                 "the server in the redis container; valkey: the include also sets "
                 "cluster-announce-human-nodename to the pod name, which Valkey 8 shows in its "
                 "cluster log lines and nodes.conf (Redis 7.0 would refuse the directive)",
                 {Command::Prepare},
                 kSetServer});
  out.push_back({"dns-wait",
                 "AGENT_DNS_WAIT",
                 "DURATION",
                 "5s",
                 "`0`: no wait",
                 "how long prepare waits, at most, for peer names that do not resolve yet (pods "
                 "that restart together appear in DNS moments apart); 0 = no wait",
                 {Command::Prepare},
                 setDuration(&Config::dns_wait_ms, "dns-wait", 0, kMinute * 10)});
  out.push_back({"takeover-timeout",
                 "AGENT_TAKEOVER_TIMEOUT",
                 "DURATION",
                 "2m",
                 "",
                 "how long prepare waits, at most, for a replica to take over the slots of this "
                 "master when its data is gone (then it fails and Kubernetes retries it)",
                 {Command::Prepare},
                 setDuration(&Config::takeover_timeout_ms, "takeover-timeout", 100, kMinute * 60)});
  out.push_back({"runtime-dir",
                 "AGENT_RUNTIME_DIR",
                 "DIR",
                 "/run/redis-cluster-agent",
                 "",
                 "directory shared with the redis container; holds the agent's unix socket "
                 "(run creates it, mode 0770, when missing)",
                 {Command::Run, Command::Handover},
                 setString(&Config::runtime_dir)});
}

// The options of the Redis connections and of the StatefulSet.
void clusterOptions(std::vector<Option>& out) {
  out.push_back({"redis-addr", "AGENT_REDIS_ADDR", "HOST:PORT", "127.0.0.1:6379", "",
                 "the local redis-server", kRedisCommands,
                 setHostPort(&Config::redis, "redis-addr")});
  out.push_back({"redis-password-file", "AGENT_REDIS_PASSWORD_FILE", "PATH", "", "no auth",
                 "file holding the Redis password (a mounted Secret); empty = no auth",
                 kRedisCommands, setString(&Config::redis_password_file)});
  out.push_back({"redis-timeout", "AGENT_REDIS_TIMEOUT", "DURATION", "1s", "",
                 "connect and command timeout for every Redis call", kRedisCommands,
                 setDuration(&Config::redis_timeout_ms, "redis-timeout", 10, kMinute)});
  out.push_back({"cluster-nodes",
                 "AGENT_CLUSTER_NODES",
                 "N",
                 "6",
                 "",
                 "pods in the StatefulSet",
                 {Command::Prepare, Command::Run, Command::Status},
                 setInt(&Config::cluster_nodes, "cluster-nodes", 1, 1000)});
  out.push_back({"cluster-replicas",
                 "AGENT_CLUSTER_REPLICAS",
                 "N",
                 "1",
                 "",
                 "replicas per master",
                 {Command::Run, Command::Status},
                 setInt(&Config::cluster_replicas, "cluster-replicas", 0, 100)});
  out.push_back({"shape-file",
                 "AGENT_SHAPE_FILE",
                 "PATH",
                 "",
                 "the flags above",
                 "file with the cluster's shape ('nodes: N' and 'replicas: R' lines, a mounted "
                 "ConfigMap); overrides --cluster-nodes and --cluster-replicas and is followed "
                 "while the agent runs",
                 {Command::Prepare, Command::Run, Command::Status},
                 setString(&Config::shape_file)});
  out.push_back({"peer-host-template",
                 "AGENT_PEER_HOST_TEMPLATE",
                 "TEMPLATE",
                 "",
                 "required by run, status",
                 "DNS name of the pod with ordinal {ordinal}, e.g. "
                 "redis-{ordinal}.redis-headless.default.svc.cluster.local",
                 {Command::Prepare, Command::Run, Command::Status},
                 setString(&Config::peer_host_template)});
}

// TLS for every Redis connection the agent makes (its own Redis, the peers, status, the
// handover, the shard guard of prepare). The files are re-read when they change (rotation).
void tlsOptions(std::vector<Option>& out) {
  out.push_back({"tls", "AGENT_TLS", "on|off", "off", "plaintext",
                 "talk TLS to every Redis (for tls-port with port 0)", kRedisCommands, kSetTls});
  out.push_back({"tls-ca-file", "AGENT_TLS_CA_FILE", "PATH", "", "system CA store",
                 "PEM bundle of the CAs that sign the Redis certificates", kRedisCommands,
                 setString(&Config::tls_ca_file)});
  out.push_back({"tls-cert-file", "AGENT_TLS_CERT_FILE", "PATH", "", "no client certificate",
                 "client certificate (PEM) the agent presents; needed with tls-auth-clients yes "
                 "(Redis' default)",
                 kRedisCommands, setString(&Config::tls_cert_file)});
  out.push_back({"tls-key-file", "AGENT_TLS_KEY_FILE", "PATH", "", "",
                 "private key (PEM) of --tls-cert-file", kRedisCommands,
                 setString(&Config::tls_key_file)});
  out.push_back({"tls-verify", "AGENT_TLS_VERIFY", "name|chain", "name",
                 "`chain`: certificates without pod names",
                 "name: a server's certificate must be valid for its pod's DNS name "
                 "(--peer-host-template; e.g. a *.headless-service wildcard) besides its chain; "
                 "chain: the chain only",
                 kRedisCommands, kSetTlsVerify});
}

// The options of the running agent and of the commands' output.
void agentOptions(std::vector<Option>& out) {
  out.push_back({"http-addr",
                 "AGENT_HTTP_ADDR",
                 "HOST:PORT",
                 "0.0.0.0:9839",
                 "",
                 "read-only HTTP listener: probes, metrics, peer info (status asks every pod's "
                 "agent on its port)",
                 {Command::Run, Command::Status},
                 setHostPort(&Config::http, "http-addr")});
  out.push_back({"poll-interval",
                 "AGENT_POLL_INTERVAL",
                 "DURATION",
                 "1s",
                 "",
                 "how often the agent reads the cluster's state when nothing happens (a change "
                 "to nodes.conf makes it look at once)",
                 {Command::Run},
                 setDuration(&Config::poll_interval_ms, "poll-interval", 50, kMinute * 10)});
  out.push_back({"sweep-interval",
                 "AGENT_SWEEP_INTERVAL",
                 "DURATION",
                 "30s",
                 "+-20% jitter",
                 "how often the agent resolves every pod's name and compares it with what its "
                 "Redis knows; between sweeps it looks only at pods its Redis shows amiss",
                 {Command::Run},
                 setDuration(&Config::sweep_interval_ms, "sweep-interval", 1000, kMinute * 60)});
  out.push_back({"rotation-grace",
                 "AGENT_ROTATION_GRACE",
                 "DURATION",
                 "2m",
                 "",
                 "password rotation: how long the old password still works once every pod "
                 "uses the new one (clients move meanwhile)",
                 {Command::Run},
                 setDuration(&Config::rotation_grace_ms, "rotation-grace", 0, kMinute * 60 * 24)});
  out.push_back({"mode",
                 "AGENT_MODE",
                 "act|observe",
                 "act",
                 "`observe`: never changes the cluster",
                 "observe: probes, metrics and status only, never a cluster-changing command",
                 {Command::Run},
                 kSetMode});
  out.push_back({"layout-keeper",
                 "AGENT_LAYOUT_KEEPER",
                 "ordinals|spread|off",
                 "ordinals",
                 "or `spread`, `off`",
                 "what the agents restore once the cluster is quiet, by a graceful CLUSTER "
                 "FAILOVER: masters on distinct Kubernetes nodes and zones and on the ordinals the "
                 "creator chose (ordinals), only the former (spread), or nothing (off)",
                 {Command::Run, Command::Status},
                 kSetLayoutKeeper});
  out.push_back(
      {"layout-quiet-period",
       "AGENT_LAYOUT_QUIET_PERIOD",
       "DURATION",
       "60s",
       "at least 2 x node-timeout",
       "how long the cluster must be healthy and unchanged (no failover, migration or "
       "handover) before the layout keeper moves a master; never less than 2 x "
       "cluster-node-timeout",
       {Command::Run},
       setDuration(&Config::layout_quiet_ms, "layout-quiet-period", 1000, kMinute * 60 * 24)});
}

// How the agent reports: logs, `status` output, the test hook and the handover's bound.
void outputOptions(std::vector<Option>& out) {
  out.push_back({"log-format", "AGENT_LOG_FORMAT", "text|json", "text", "or `json`",
                 "log line format", kRedisCommands, kSetLogFormat});
  out.push_back({"log-level", "AGENT_LOG_LEVEL", "LEVEL", "info", "",
                 "trace, debug, info, warn or error", kRedisCommands, kSetLogLevel});
  out.push_back({"crash-after",
                 "AGENT_CRASH_AFTER",
                 "STEP",
                 "",
                 "",
                 "testing only: kill the agent right after a creation step (shorten, slots, "
                 "epochs, meet-half, meet, replicate-half)",
                 {Command::Run},
                 setCrashPoint,
                 /*documented=*/false});
  out.push_back({"json",
                 "",
                 "",
                 "",
                 "",
                 "print JSON instead of a table",
                 {Command::Status},
                 setSwitch(&Config::json, "json")});
  out.push_back({"timeout",
                 "AGENT_HANDOVER_TIMEOUT",
                 "DURATION",
                 "20s",
                 "the whole budget",
                 "how long a handover may take in all",
                 {Command::Handover},
                 setDuration(&Config::handover_timeout_ms, "timeout", 100, kMinute * 10)});
}

}  // namespace

Error invalid(std::string_view flag, std::string_view value, std::string_view why) {
  return fail(Errc::Invalid, text::concat({"invalid --", flag, " '", value, "': ", why}));
}

const std::vector<Option>& options() {
  static const std::vector<Option> kOptions = [] {
    std::vector<Option> out;
    podOptions(out);
    fileOptions(out);
    clusterOptions(out);
    tlsOptions(out);
    agentOptions(out);
    outputOptions(out);
    return out;
  }();
  return kOptions;
}

bool appliesTo(const Option& option, Command command) {
  return std::find(option.commands.begin(), option.commands.end(), command) !=
         option.commands.end();
}

const Option* findFlag(std::string_view flag) {
  for (const auto& o : options()) {
    if (o.flag == flag) return &o;
  }
  return nullptr;
}

const Option* findEnv(std::string_view env) {
  for (const auto& o : options()) {
    if (!o.env.empty() && o.env == env) return &o;
  }
  return nullptr;
}

}  // namespace agent::config
