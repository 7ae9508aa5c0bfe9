// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <fmt/format.h>
#include <algorithm>
#include <functional>

#include "common/text.h"

namespace agent::config {

namespace {

using Setter = std::function<Status(Config&, std::string_view)>;

struct Option {
  std::string_view flag;      // without "--"
  std::string_view env;       // environment variable
  std::string_view value;     // placeholder in help; empty for boolean switches
  std::string_view fallback;  // default, as shown in help
  std::string_view help;
  std::vector<Command> commands;
  Setter set;
};

const std::vector<Command> kAll = {Command::Prepare, Command::Run, Command::Status,
                                   Command::Handover};

Error invalid(std::string_view flag, std::string_view value, std::string_view why) {
  return fail(Errc::Invalid, fmt::format("invalid --{} '{}': {}", flag, value, why));
}

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
      return invalid(flag, v, fmt::format("expected a whole number from {} to {}", lo, hi));
    }
    c.*field = static_cast<int>(*n);
    return {};
  };
}

Setter setDuration(int64_t Config::*field, std::string_view flag, int64_t min_ms) {
  return [=](Config& c, std::string_view v) -> Status {
    auto ms = text::parseDurationMs(v);
    if (!ms || *ms < min_ms) {
      return invalid(flag, v,
                     fmt::format("expected a duration like 500ms or 2s, at least {}ms", min_ms));
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

Status setLogFormat(Config& c, std::string_view v) {
  if (v == "text") {
    c.log_format = log::Format::Text;
  } else if (v == "json") {
    c.log_format = log::Format::Json;
  } else {
    return invalid("log-format", v, "expected text or json");
  }
  return {};
}

Status setLogLevel(Config& c, std::string_view v) {
  static const std::pair<std::string_view, log::Level> kLevels[] = {{"trace", log::Level::Trace},
                                                                    {"debug", log::Level::Debug},
                                                                    {"info", log::Level::Info},
                                                                    {"warn", log::Level::Warn},
                                                                    {"error", log::Level::Error}};
  for (const auto& [name, level] : kLevels) {
    if (v == name) {
      c.log_level = level;
      return {};
    }
  }
  return invalid("log-level", v, "expected trace, debug, info, warn or error");
}

Status setMode(Config& c, std::string_view v) {
  if (v == "act") {
    c.mode = Mode::Act;
  } else if (v == "observe") {
    c.mode = Mode::Observe;
  } else {
    return invalid("mode", v, "expected act or observe");
  }
  return {};
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

Status setPodIp(Config& c, std::string_view v) {
  if (!v.empty() && (v.find_first_not_of("0123456789abcdefABCDEF.:") != std::string_view::npos ||
                     v.find_first_of(".:") == std::string_view::npos)) {
    return invalid("pod-ip", v, "expected an IPv4 or IPv6 address");
  }
  c.pod_ip = std::string(v);
  return {};
}

// One table row per option; its length is the number of options, not complexity.
const std::vector<Option>& options() {  // NOLINT(readability-function-size)
  static const std::vector<Option> kOptions = {
      {"pod-ip",
       "POD_IP",
       "IP",
       "",
       "this pod's IP (downward API status.podIP)",
       {Command::Prepare, Command::Run},
       setPodIp},
      {"pod-name",
       "POD_NAME",
       "NAME",
       "",
       "this pod's name; its ordinal is the trailing -N",
       {Command::Prepare, Command::Run, Command::Status},
       setPodName},
      {"node-name",
       "NODE_NAME",
       "NAME",
       "",
       "the Kubernetes node this pod runs on (spec.nodeName), for replica placement",
       {Command::Run},
       setString(&Config::node_name)},
      {"nodes-conf",
       "AGENT_NODES_CONF",
       "PATH",
       "/data/nodes.conf",
       "Redis' cluster-config-file",
       {Command::Prepare, Command::Run},
       setString(&Config::nodes_conf)},
      {"data-dir",
       "AGENT_DATA_DIR",
       "DIR",
       "directory of --nodes-conf",
       "Redis' dir (dump.rdb, appendonly files)",
       {Command::Prepare},
       setString(&Config::data_dir)},
      {"include-file",
       "AGENT_INCLUDE_FILE",
       "PATH",
       "",
       "redis.conf include that prepare writes (mode 0600: requirepass/masterauth); "
       "empty = none",
       {Command::Prepare},
       setString(&Config::include_file)},
      {"dns-wait",
       "AGENT_DNS_WAIT",
       "DURATION",
       "5s",
       "how long prepare waits, at most, for peer names that do not resolve yet (pods that "
       "restart together appear in DNS moments apart); 0 = no wait",
       {Command::Prepare},
       setDuration(&Config::dns_wait_ms, "dns-wait", 0)},
      {"runtime-dir",
       "AGENT_RUNTIME_DIR",
       "DIR",
       "/run/redis-cluster-agent",
       "directory shared with the redis container; holds the agent's unix socket",
       {Command::Run, Command::Handover},
       setString(&Config::runtime_dir)},
      {"redis-addr", "AGENT_REDIS_ADDR", "HOST:PORT", "127.0.0.1:6379", "the local redis-server",
       kAll, setHostPort(&Config::redis, "redis-addr")},
      {"redis-password-file", "AGENT_REDIS_PASSWORD_FILE", "PATH", "",
       "file holding the Redis password (a mounted Secret); empty = no auth", kAll,
       setString(&Config::redis_password_file)},
      {"redis-timeout", "AGENT_REDIS_TIMEOUT", "DURATION", "1s",
       "connect and command timeout for every Redis call", kAll,
       setDuration(&Config::redis_timeout_ms, "redis-timeout", 10)},
      {"cluster-nodes",
       "AGENT_CLUSTER_NODES",
       "N",
       "6",
       "pods in the StatefulSet",
       {Command::Prepare, Command::Run, Command::Status},
       setInt(&Config::cluster_nodes, "cluster-nodes", 1, 1000)},
      {"cluster-replicas",
       "AGENT_CLUSTER_REPLICAS",
       "N",
       "1",
       "replicas per master",
       {Command::Run, Command::Status},
       setInt(&Config::cluster_replicas, "cluster-replicas", 0, 100)},
      {"peer-host-template",
       "AGENT_PEER_HOST_TEMPLATE",
       "TEMPLATE",
       "",
       "DNS name of the pod with ordinal {ordinal}, e.g. "
       "redis-{ordinal}.redis-headless.default.svc.cluster.local",
       {Command::Prepare, Command::Run, Command::Status},
       setString(&Config::peer_host_template)},
      {"http-addr",
       "AGENT_HTTP_ADDR",
       "HOST:PORT",
       "0.0.0.0:9839",
       "read-only HTTP listener: probes, metrics, peer info",
       {Command::Run},
       setHostPort(&Config::http, "http-addr")},
      {"poll-interval",
       "AGENT_POLL_INTERVAL",
       "DURATION",
       "1s",
       "how often the agent reads the cluster's state when nothing happens (a change to "
       "nodes.conf makes it look at once)",
       {Command::Run},
       setDuration(&Config::poll_interval_ms, "poll-interval", 50)},
      {"mode",
       "AGENT_MODE",
       "act|observe",
       "act",
       "observe: probes, metrics and status only, never a cluster-changing command",
       {Command::Run},
       setMode},
      {"log-format", "AGENT_LOG_FORMAT", "text|json", "text", "log line format", kAll,
       setLogFormat},
      {"log-level", "AGENT_LOG_LEVEL", "LEVEL", "info", "trace, debug, info, warn or error", kAll,
       setLogLevel},
      {"crash-after",
       "AGENT_CRASH_AFTER",
       "STEP",
       "",
       "testing only: kill the agent right after a creation step (shorten, slots, epochs, "
       "meet-half, meet, replicate-half)",
       {Command::Run},
       setCrashPoint},
      {"json",
       "",
       "",
       "",
       "print JSON instead of a table",
       {Command::Status},
       [](Config& c, std::string_view) -> Status {
         c.json = true;
         return {};
       }},
      {"timeout",
       "AGENT_HANDOVER_TIMEOUT",
       "DURATION",
       "20s",
       "how long a handover may take in all",
       {Command::Handover},
       setDuration(&Config::handover_timeout_ms, "timeout", 100)},
  };
  return kOptions;
}

bool appliesTo(const Option& o, Command c) {
  return std::find(o.commands.begin(), o.commands.end(), c) != o.commands.end();
}

const Option* findFlag(std::string_view flag) {
  for (const auto& o : options()) {
    if (o.flag == flag) return &o;
  }
  return nullptr;
}

Result<Command> parseCommand(std::string_view word) {
  static const std::pair<std::string_view, Command> kCommands[] = {{"prepare", Command::Prepare},
                                                                   {"run", Command::Run},
                                                                   {"status", Command::Status},
                                                                   {"version", Command::Version},
                                                                   {"handover", Command::Handover}};
  for (const auto& [name, cmd] : kCommands) {
    if (word == name) return cmd;
  }
  return fail(Errc::Invalid, fmt::format("unknown command '{}' (run with --help)", word));
}

// Flags given on the command line, by option index; the environment fills the rest.
Result<std::vector<std::pair<const Option*, std::string>>> parseFlags(
    Config& c, const std::vector<std::string>& args) {
  std::vector<std::pair<const Option*, std::string>> given;
  for (size_t i = 2; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      c.help = true;
      continue;
    }
    if (!text::startsWith(arg, "--")) {
      return fail(Errc::Invalid, fmt::format("unexpected argument '{}'", arg));
    }
    arg.remove_prefix(2);
    std::string_view name = arg.substr(0, arg.find('='));
    const Option* o = findFlag(name);
    if (o == nullptr || !appliesTo(*o, c.command)) {
      return fail(Errc::Invalid, fmt::format("unknown flag --{} for '{}' (see {} --help)", name,
                                             commandName(c.command), commandName(c.command)));
    }
    std::string value;
    if (arg.find('=') != std::string_view::npos) {
      value = std::string(arg.substr(arg.find('=') + 1));
    } else if (!o->value.empty()) {
      if (i + 1 >= args.size()) return fail(Errc::Invalid, fmt::format("--{} needs a value", name));
      value = args[++i];
    }
    given.emplace_back(o, std::move(value));
  }
  return given;
}

Status applyEnv(Config& c, const std::vector<std::string>& env,
                const std::vector<std::pair<const Option*, std::string>>& given) {
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string_view name(entry.data(), eq);
    std::string_view value = std::string_view(entry).substr(eq + 1);
    const Option* match = nullptr;
    for (const auto& o : options()) {
      if (!o.env.empty() && o.env == name) match = &o;
    }
    if (match == nullptr) {
      // Our own prefix is reserved: a misspelt AGENT_ variable must not be silently ignored.
      if (text::startsWith(name, "AGENT_")) {
        return fail(Errc::Invalid, fmt::format("unknown environment variable {}", name));
      }
      continue;
    }
    bool overridden =
        std::any_of(given.begin(), given.end(), [&](const auto& g) { return g.first == match; });
    if (overridden || !appliesTo(*match, c.command)) continue;
    if (Status st = match->set(c, value); !st) {
      return fail(Errc::Invalid, fmt::format("{} (from {})", st.error().message, name));
    }
  }
  return {};
}

Status validate(const Config& c) {
  if (c.command == Command::Run && c.peer_host_template.empty()) {
    return fail(Errc::Invalid, "run needs --peer-host-template (AGENT_PEER_HOST_TEMPLATE)");
  }
  if (!c.peer_host_template.empty() &&
      (c.peer_host_template.find("{ordinal}") == std::string::npos ||
       !text::expandTemplate(c.peer_host_template, {{"ordinal", "0"}}))) {
    return fail(Errc::Invalid, fmt::format("invalid --peer-host-template '{}': it must contain "
                                           "{{ordinal}} and no other {{...}}",
                                           c.peer_host_template));
  }
  if (c.command == Command::Run && !c.ordinal) {
    return fail(Errc::Invalid, "run needs --pod-name (POD_NAME) ending in -<ordinal>");
  }
  if (c.command == Command::Prepare && c.pod_ip.empty()) {
    return fail(Errc::Invalid, "prepare needs --pod-ip (POD_IP)");
  }
  if (c.cluster_nodes < (c.cluster_replicas + 1) * 3 && c.command == Command::Run) {
    return fail(Errc::Invalid,
                fmt::format("--cluster-nodes {} with --cluster-replicas {} gives fewer than 3 "
                            "masters; Redis Cluster needs at least 3",
                            c.cluster_nodes, c.cluster_replicas));
  }
  return {};
}

}  // namespace

const char* commandName(Command command) {
  switch (command) {
    case Command::Prepare: return "prepare";
    case Command::Run: return "run";
    case Command::Status: return "status";
    case Command::Version: return "version";
    case Command::Handover: return "handover";
  }
  return "?";
}

std::vector<std::string> Config::peerHosts() const {
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(cluster_nodes));
  for (int i = 0; i < cluster_nodes; ++i) names.push_back(peerHost(i));
  return names;
}

std::string Config::peerHost(int ord) const {
  return text::expandTemplate(peer_host_template, {{"ordinal", std::to_string(ord)}})
      .value_or(std::string());
}

Result<Config> parse(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  Config c;
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
    c.help = true;
    c.command = Command::Version;
    if (args.size() < 2) return fail(Errc::Invalid, "missing command (run with --help)");
    return c;
  }
  if (args[1] == "--version") {
    c.command = Command::Version;
    return c;
  }
  auto command = parseCommand(args[1]);
  if (!command) return command.error();
  c.command = *command;
  auto given = parseFlags(c, args);
  if (!given) return given.error();
  if (c.help) return c;
  if (Status st = applyEnv(c, env, *given); !st) return st.error();
  for (const auto& [option, value] : *given) {
    if (Status st = option->set(c, value); !st) return st.error();
  }
  if (c.data_dir.empty()) {
    size_t slash = c.nodes_conf.rfind('/');
    c.data_dir =
        slash == std::string::npos ? "." : c.nodes_conf.substr(0, std::max<size_t>(slash, 1));
  }
  if (Status st = validate(c); !st) return st.error();
  return c;
}

std::string usage() {
  return "redis-cluster-agent: runs Redis Cluster on Kubernetes by itself.\n\n"
         "Usage: redis-cluster-agent <command> [flags]\n\n"
         "Commands:\n"
         "  prepare   repair nodes.conf before redis-server starts (init container)\n"
         "  run       the sidecar: creates, heals, probes, metrics\n"
         "  status    print the cluster as a table; exit 0 only when healthy\n"
         "  handover  hand this master's role to its best replica (preStop)\n"
         "  version   print the version\n\n"
         "Every flag has an environment variable; a flag wins over its variable.\n"
         "Run 'redis-cluster-agent <command> --help' for the flags of a command.\n";
}

std::string commandUsage(Command command) {
  std::string out =
      fmt::format("Usage: redis-cluster-agent {} [flags]\n\nFlags:\n", commandName(command));
  for (const auto& o : options()) {
    if (!appliesTo(o, command)) continue;
    std::string flag =
        o.value.empty() ? fmt::format("--{}", o.flag) : fmt::format("--{} {}", o.flag, o.value);
    out += fmt::format("  {:<34} {}\n", flag, o.help);
    std::string env = o.env.empty() ? "" : fmt::format("env {}", o.env);
    std::string def = o.fallback.empty() ? "" : fmt::format("default {}", o.fallback);
    std::string sep = (!env.empty() && !def.empty()) ? ", " : "";
    if (!env.empty() || !def.empty()) out += fmt::format("  {:<34} ({}{}{})\n", "", env, sep, def);
  }
  return out;
}

}  // namespace agent::config
