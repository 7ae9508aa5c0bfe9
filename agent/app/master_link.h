// SPDX-License-Identifier: Apache-2.0
// The replication offset of this replica's master, read from the master itself: the lag metric
// needs it, and only the master knows it. One connection to the address the replica replicates
// from (INFO master_host and master_port: no name lookup, no probe of any other pod), kept while
// the local node is a replica and closed when it is not. One INFO replication per pass. Loop
// thread only.
#pragma once

#include <cstdint>
#include <optional>

#include "cluster/snapshot.h"
#include "redis/connection.h"

namespace agent::app {

class MasterLink {
 public:
  explicit MasterLink(redis::ConnectOptions options) : options_(std::move(options)) {}
  // The master's master_repl_offset now; nullopt when the local node is no replica or its
  // master does not answer.
  std::optional<int64_t> offset(const std::optional<cluster::Snapshot>& local);

 private:
  redis::ConnectOptions options_;
  std::optional<redis::Connection> conn_;
};

}  // namespace agent::app
