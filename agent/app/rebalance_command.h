// SPDX-License-Identifier: Apache-2.0
// `redis-cluster-agent rebalance`: an internal verb that runs the migration engine once against
// a cluster (migrate/rebalance.h) until every master owns an even share, including masters
// that own nothing yet. Not a user interface: the scale verb of issue 13 will drive the same
// engine; this one exists for the end-to-end test and bench/scale.py. Flags (own parser, not in
// the option table on purpose, so it stays out of the README and --help):
//   --seed HOST:PORT           any node of the cluster
//   --password-file PATH       the Redis password (also used by MIGRATE's AUTH2)
//   --batch-keys N             keys per MIGRATE (default: migrate::MoverOptions)
//   --batch-slots N            slots moved together, each step pipelined for all of them
//   --migrate-timeout-ms N     MIGRATE's timeout
//   --tls, --tls-ca-file, --tls-cert-file, --tls-key-file, --tls-verify, --peer-host-template
//                              the agent's own flags, with their AGENT_* variables (a pod's
//                              settings when run there): TLS to every node, each node's
//                              certificate checked for its pod's name
//   --parallel N               source -> target pairs moved at once (1: one after another)
//   --dry-run                  print the plan, move nothing
//   --test-stop-at POINT       for tests only (also on `scale`; not for users, so in no help
//                              text): the process stops itself with SIGSTOP the first time a
//                              slot move reaches POINT (migrate::MovePoint: after-importing,
//                              after-open, mid-batch, before-setslot-node, after-setslot-target)
//                              and the test SIGKILLs it there (a coordinator killed mid-move),
//                              or kills a Redis and lets it go on with SIGCONT
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "migrate/rebalance.h"
#include "redis/connection.h"

namespace agent::app {

bool isRebalanceCommand(const std::vector<std::string>& args);
int runRebalance(const std::vector<std::string>& args);

// The engine's flags, shared by `rebalance` and `scale` (app/scale_command.h).
struct MigrateFlags {
  std::string seed;
  std::string password_file;
  // The agent's connection flags given (--tls=on, ...), for config::parseCommandLine.
  std::vector<std::string> agent_flags;
  migrate::MoverOptions mover;
  int parallel = migrate::RebalanceOptions{}.parallel;
  bool dry_run = false;
  std::optional<migrate::MovePoint> stop_at;  // --test-stop-at (tests only)
};

// Parses args[i] (and its value, advancing i) when it is one of the engine's flags: false when
// it is not one, an error when it is one with a bad value.
Result<bool> parseMigrateFlag(MigrateFlags& f, const std::vector<std::string>& args, size_t& i);

// The password and the connect options of a verb's connections (no secret in argv: the
// password comes from --password-file). TLS as the agent's flags and AGENT_* variables say
// (config/clients.h), with --tls-verify=name checking each node's certificate for the pod name
// that resolves to its address (the seed's, for the name it was given by).
struct Connect {
  std::optional<std::string> password;
  redis::ConnectOptions options;
};
Result<Connect> connectFrom(const MigrateFlags& f);

// The masters in the seed's view.
Result<std::vector<migrate::Peer>> seedPeers(const HostPort& seed, const redis::ConnectOptions& o);

// Runs the engine once (migrate::rebalance) with the flags' mover options and `targets` (empty:
// every master), printing `verb`'s progress line on stderr (a bar on a TTY).
Result<migrate::RebalanceReport> runEngine(const MigrateFlags& f, const Connect& connect,
                                           const std::vector<migrate::Peer>& peers,
                                           std::vector<std::string> targets, const char* verb);

}  // namespace agent::app
