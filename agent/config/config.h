// SPDX-License-Identifier: Apache-2.0
// Configuration: command-line flags, each mirrored by an environment variable (Kubernetes passes
// pod facts through the downward API as env). A flag wins over its variable. Anything unknown or
// invalid is an error with one clear line; nothing is guessed. Depends on common/ only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/log.h"
#include "common/result.h"

namespace agent::config {

enum class Command { Prepare, Run, Status, Version, Handover };
enum class Mode { Act, Observe };

// The one host:port type (common/host_port.h); the names stay for the callers here.
using HostPort = agent::HostPort;
using agent::parseHostPort;

struct Config {
  Command command = Command::Run;
  bool help = false;

  std::string pod_ip;
  std::string pod_name;
  std::optional<int> ordinal;  // trailing "-N" of pod_name
  std::string node_name;       // Kubernetes node, for replica placement

  std::string nodes_conf = "/data/nodes.conf";
  std::string data_dir;      // where RDB/AOF live; defaults to the directory of nodes_conf
  std::string include_file;  // redis.conf include written by prepare; empty = none
  std::string runtime_dir = "/run/redis-cluster-agent";  // unix socket for local commands

  HostPort redis{"127.0.0.1", 6379};
  std::string redis_password_file;
  int64_t redis_timeout_ms = 1000;

  int cluster_nodes = 6;
  int cluster_replicas = 1;
  std::string peer_host_template;

  HostPort http{"0.0.0.0", 9839};
  int64_t poll_interval_ms = 1000;
  Mode mode = Mode::Act;

  log::Format log_format = log::Format::Text;
  log::Level log_level = log::Level::Info;

  bool json = false;                     // status --json
  int64_t handover_timeout_ms = 20000;   // handover: the whole budget
  std::string crash_after;               // fault injection for tests (see creator.h)
  int64_t takeover_timeout_ms = 120000;  // prepare: wait for a replica to take over (shard_guard)
  int64_t dns_wait_ms = 5000;            // prepare: wait for peer names that do not resolve yet

  // Name of the pod with `ordinal`, from peer_host_template.
  std::string peerHost(int ordinal) const;
  // Every pod's name, ordinal 0 to cluster_nodes - 1.
  std::vector<std::string> peerHosts() const;
  std::string socketPath() const { return runtime_dir + "/agent.sock"; }
};

// Parses argv (argv[0] is the program) and the environment. The environment is passed in so
// tests do not depend on the process's own.
Result<Config> parse(const std::vector<std::string>& args, const std::vector<std::string>& env);

// Help texts for `--help`.
std::string usage();
std::string commandUsage(Command command);

const char* commandName(Command command);

}  // namespace agent::config
