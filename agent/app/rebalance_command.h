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
//   --dry-run                  print the plan, move nothing
//   --test-pause-after-open    stop (sleep) once the first slot is open: tests kill it there
#pragma once

#include <string>
#include <vector>

namespace agent::app {

bool isRebalanceCommand(const std::vector<std::string>& args);
int runRebalance(const std::vector<std::string>& args);

}  // namespace agent::app
