// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <algorithm>
#include <cassert>

#include "common/text.h"
#include "config/options.h"
#include "config/shape.h"

namespace agent::config {

namespace {

using Given = std::vector<std::pair<const Option*, std::string>>;

Error invalidInput(std::string message) {
  return fail(Errc::Invalid, std::move(message));
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
  return invalidInput(text::concat({"unknown command '", word, "' (run with --help)"}));
}

// The flags from args[first] on, in the order given; the environment fills in the rest.
Result<Given> parseFlags(Config& c, const std::vector<std::string>& args, size_t first) {
  Given given;
  std::string command = commandName(c.command);
  for (size_t i = first; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      c.help = true;
      continue;
    }
    if (!text::startsWith(arg, "--")) {
      return invalidInput(text::concat({"unexpected argument '", arg, "'"}));
    }
    arg.remove_prefix(2);
    std::string name(arg.substr(0, arg.find('=')));
    const Option* o = findFlag(name);
    if (o == nullptr || !appliesTo(*o, c.command)) {
      return invalidInput(text::concat(
          {"unknown flag --", name, " for '", command, "' (see ", command, " --help)"}));
    }
    std::string value;
    if (arg.find('=') != std::string_view::npos) {
      value = std::string(arg.substr(arg.find('=') + 1));
    } else if (!o->value.empty()) {
      if (i + 1 >= args.size()) return invalidInput(text::concat({"--", name, " needs a value"}));
      value = args[++i];
    }
    given.emplace_back(o, std::move(value));
  }
  return given;
}

Status applyEnv(Config& c, const std::vector<std::string>& env, const Given& given,
                EnvPolicy policy) {
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string_view name(entry.data(), eq);
    std::string_view value = std::string_view(entry).substr(eq + 1);
    const Option* match = findEnv(name);
    if (match == nullptr) {
      // Our own prefix is reserved: a misspelt AGENT_ variable must not be silently ignored.
      if (policy == EnvPolicy::Strict && text::startsWith(name, "AGENT_")) {
        return invalidInput(text::concat({"unknown environment variable ", name}));
      }
      continue;
    }
    bool overridden =
        std::any_of(given.begin(), given.end(), [&](const auto& g) { return g.first == match; });
    if (overridden || !appliesTo(*match, c.command)) continue;
    if (policy == EnvPolicy::Lenient && value.empty()) continue;
    if (Status st = match->set(c, value); !st) {
      return invalidInput(text::concat({st.error().message, " (from ", name, ")"}));
    }
  }
  return {};
}

// Files without --tls=on would be ignored silently: a half-done TLS setup is an error.
Status validateTls(const Config& c) {
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return invalidInput("--tls-cert-file and --tls-key-file go together: give both or neither");
  }
  if (!c.tls && (!c.tls_ca_file.empty() || !c.tls_cert_file.empty())) {
    return invalidInput("--tls-ca-file and --tls-cert-file need --tls=on (AGENT_TLS=on)");
  }
  return {};
}

Status validate(const Config& c) {
  if (c.command == Command::Run && c.peer_host_template.empty()) {
    return invalidInput("run needs --peer-host-template (AGENT_PEER_HOST_TEMPLATE)");
  }
  if (!c.peer_host_template.empty() &&
      (c.peer_host_template.find("{ordinal}") == std::string::npos ||
       !text::expandTemplate(c.peer_host_template, {{"ordinal", "0"}}))) {
    return invalidInput(text::concat({"invalid --peer-host-template '", c.peer_host_template,
                                      "': it must contain {ordinal} and no other {...}"}));
  }
  if (c.command == Command::Run && !c.ordinal) {
    return invalidInput("run needs --pod-name (POD_NAME) ending in -<ordinal>");
  }
  if (c.command == Command::Prepare && c.pod_ip.empty()) {
    return invalidInput("prepare needs --pod-ip (POD_IP)");
  }
  if (Status st = validateTls(c); !st) return st;
  if (c.cluster_nodes < (c.cluster_replicas + 1) * 3 && c.command == Command::Run) {
    return invalidInput(
        text::concat({"--cluster-nodes ", std::to_string(c.cluster_nodes),
                      " with --cluster-replicas ", std::to_string(c.cluster_replicas),
                      " gives fewer than 3 masters; Redis Cluster needs at least 3"}));
  }
  return {};
}

// Flags from args[first] on over the environment over the defaults, then the checks.
Result<Config> parseFrom(Command command, const std::vector<std::string>& args, size_t first,
                         const std::vector<std::string>& env, EnvPolicy policy) {
  Config c;
  c.command = command;
  auto given = parseFlags(c, args, first);
  if (!given) return given.error();
  if (c.help) return c;
  if (Status st = applyEnv(c, env, *given, policy); !st) return st.error();
  for (const auto& [option, value] : *given) {
    if (Status st = option->set(c, value); !st) return st.error();
  }
  if (c.data_dir.empty()) {
    size_t slash = c.nodes_conf.rfind('/');
    c.data_dir =
        slash == std::string::npos ? "." : c.nodes_conf.substr(0, std::max<size_t>(slash, 1));
  }
  // A readable shape file wins over the flags; an unreadable or bad one leaves them (run logs
  // why, and keeps following the file).
  if (!c.shape_file.empty()) {
    if (auto shape = readShapeFile(c.shape_file)) applyShape(c, *shape);
  }
  if (Status st = validate(c); !st) return st.error();
  return c;
}

std::string padded(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string withoutBackticks(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch != '`') out += ch;
  }
  return out;
}

// "(env X, default Y; note)" under an option's help line; empty when there is nothing to say.
std::string defaultsLine(const Option& o) {
  std::string parts;
  if (!o.env.empty()) parts = text::concat({"env ", o.env});
  if (!o.fallback.empty()) {
    parts += (parts.empty() ? "" : ", ") + std::string("default ") + std::string(o.fallback);
    if (!o.note.empty()) parts += text::concat({"; ", withoutBackticks(o.note)});
  }
  return parts.empty() ? "" : text::concat({"(", parts, ")"});
}

std::string usedBy(const Option& o) {
  std::string out;
  for (Command c : o.commands) {
    if (!out.empty()) out += ", ";
    out += commandName(c);
  }
  return out;
}

}  // namespace

Config::Config() {
  for (const auto& o : options()) {
    if (o.fallback.empty()) continue;
    [[maybe_unused]] Status st = o.set(*this, o.fallback);
    assert(st && "every default in the option table must parse");
  }
}

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
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
    Config c;
    c.help = true;
    c.command = Command::Version;
    if (args.size() < 2) return invalidInput("missing command (run with --help)");
    return c;
  }
  if (args[1] == "--version") {
    Config c;
    c.command = Command::Version;
    return c;
  }
  auto command = parseCommand(args[1]);
  if (!command) return command.error();
  return parseFrom(*command, args, 2, env, EnvPolicy::Strict);
}

Result<Config> parseCommandLine(Command command, const std::vector<std::string>& args,
                                const std::vector<std::string>& env, EnvPolicy policy) {
  return parseFrom(command, args, 1, env, policy);
}

std::string usage() {
  return "redis-cluster-agent: runs Redis Cluster on Kubernetes by itself.\n\n"
         "Usage: redis-cluster-agent <command> [flags]\n\n"
         "Commands:\n"
         "  prepare   repair nodes.conf before redis-server starts (init container)\n"
         "  run       the sidecar: creates, heals, probes, metrics\n"
         "  status    print the cluster as a table; exit 0 only when healthy\n"
         "  handover  hand this master's role to its best replica (preStop)\n"
         "  scale     grow or shrink the cluster to N pods, moving slots (scale --help)\n"
         "  version   print the version\n\n"
         "Every flag has an environment variable; a flag wins over its variable.\n"
         "Run 'redis-cluster-agent <command> --help' for the flags of a command.\n";
}

std::string commandUsage(Command command, std::string_view program) {
  std::string name = program.empty() ? text::concat({"redis-cluster-agent ", commandName(command)})
                                     : std::string(program);
  std::string out = text::concat({"Usage: ", name, " [flags]\n\nFlags:\n"});
  for (const auto& o : options()) {
    if (!appliesTo(o, command)) continue;
    std::string flag = text::concat({"--", o.flag, o.value.empty() ? "" : " ", o.value});
    out += text::concat({"  ", padded(flag, 34), " ", o.help, "\n"});
    std::string defaults = defaultsLine(o);
    if (!defaults.empty()) out += text::concat({"  ", padded("", 34), " ", defaults, "\n"});
  }
  return out;
}

std::string flagsMarkdown() {
  std::string out =
      "| flag | environment | default | used by |\n"
      "|---|---|---|---|\n";
  for (const auto& o : options()) {
    if (!o.documented) continue;
    std::string env = o.env.empty() ? "-" : text::concat({"`", o.env, "`"});
    std::string def = o.fallback.empty() ? "-" : text::concat({"`", o.fallback, "`"});
    if (!o.note.empty()) def += text::concat({" (", o.note, ")"});
    out += text::concat({"| `--", o.flag, "` | ", env, " | ", def, " | ", usedBy(o), " |\n"});
  }
  return out;
}

}  // namespace agent::config
