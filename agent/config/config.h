// SPDX-License-Identifier: Apache-2.0
// Configuration: command-line flags, each mirrored by an environment variable (Kubernetes passes
// pod facts through the downward API as env). A flag wins over its variable. Anything unknown or
// invalid is an error with one clear line; nothing is guessed. Standard library only (no fmt),
// so the static handover client parses its flags with the same table (agent_base).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_port.h"
#include "common/log.h"
#include "common/result.h"

namespace agent::config {

enum class Command { Prepare, Run, Status, Version, Handover };
enum class Mode { Act, Observe };
// What the layout keeper restores (layout/keeper.h): nothing, masters spread over Kubernetes
// nodes and zones, or that and the ordinals the creator chose.
enum class LayoutKeeper { Off, Spread, Ordinals };

// How a Redis server's certificate is checked besides its chain (--tls-verify).
// Name: valid for the pod's DNS name (--peer-host-template); Chain: the chain only.
enum class TlsVerify { Name, Chain };

// The server in the pod's redis container (--server). prepare writes directives only the named
// server knows (Valkey's cluster-announce-human-nodename): Redis 7.0 refuses to start on a
// directive it does not know.
enum class Server { Redis, Valkey };

// The one host:port type (common/host_port.h); the names stay for the callers here.
using HostPort = agent::HostPort;
using agent::parseHostPort;

// Every field an option sets gets its default from the option table (config/options.cpp), the
// one place defaults are written: Config() applies them, --help and the README show them.
struct Config {
  Config();

  Command command = Command::Run;
  bool help = false;

  std::string pod_ip;
  std::string pod_name;
  std::optional<int> ordinal;  // trailing "-N" of pod_name
  std::string node_name;       // Kubernetes node, for replica placement
  std::string zone;            // the node's zone, for placement; "" = none

  std::string nodes_conf;
  std::string data_dir;      // where RDB/AOF live; defaults to the directory of nodes_conf
  std::string include_file;  // redis.conf include written by prepare (and kept by run); "" = none
  std::string runtime_dir;   // shared with the redis container: control socket, handover client
  Server server = Server::Redis;

  HostPort redis;
  std::string redis_password_file;
  int64_t redis_timeout_ms = 0;

  bool tls = false;  // every Redis connection of the agent uses TLS
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  TlsVerify tls_verify = TlsVerify::Name;

  int cluster_nodes = 0;
  int cluster_replicas = 0;
  std::string shape_file;  // overrides cluster_nodes/cluster_replicas (config/shape.h); "" = none
  std::string peer_host_template;

  HostPort http;
  int64_t poll_interval_ms = 0;
  int64_t sweep_interval_ms = 0;  // the slow sweep over every pod's name (cluster/attention.h)
  Mode mode = Mode::Act;
  LayoutKeeper layout_keeper = LayoutKeeper::Ordinals;
  int64_t layout_quiet_ms = 0;  // how long the cluster must be quiet before a layout move

  log::Format log_format = log::Format::Text;
  log::Level log_level = log::Level::Info;

  bool json = false;                // status --json
  int64_t handover_timeout_ms = 0;  // handover: the whole budget
  std::string crash_after;          // fault injection for tests (see creator.h)
  int64_t takeover_timeout_ms = 0;  // prepare: wait for a replica to take over (shard_guard)
  int64_t dns_wait_ms = 0;          // prepare: wait for peer names that do not resolve yet
  int64_t rotation_grace_ms = 0;    // run: every pod switched -> the old password goes after this

  // Name of the pod with `ordinal`, from peer_host_template.
  std::string peerHost(int ordinal) const;
  // Every pod's name, ordinal 0 to cluster_nodes - 1.
  std::vector<std::string> peerHosts() const;
  std::string socketPath() const { return runtime_dir + "/agent.sock"; }
};

// Parses argv (argv[0] is the program, argv[1] the command) and the environment. The
// environment is passed in so tests do not depend on the process's own.
Result<Config> parse(const std::vector<std::string>& args, const std::vector<std::string>& env);

// How the environment is read. Strict: an unknown AGENT_* variable is an error (the agent's own
// containers). Lenient: unknown AGENT_* variables and empty values are ignored (the static
// handover client, which runs in the redis container: an environment the agent does not own,
// where a failing preStop would cost the handover).
enum class EnvPolicy { Strict, Lenient };

// Parses the flags of one fixed command: args[0] is the program, flags follow. For programs
// that are one command (the static handover client).
Result<Config> parseCommandLine(Command command, const std::vector<std::string>& args,
                                const std::vector<std::string>& env, EnvPolicy policy);

// Help texts for `--help`. `program` replaces "redis-cluster-agent <command>" in the usage line.
std::string usage();
std::string commandUsage(Command command, std::string_view program = {});
// The flags as the Markdown table of the README (a unit test keeps the README in step).
std::string flagsMarkdown();

const char* commandName(Command command);

}  // namespace agent::config
