// SPDX-License-Identifier: Apache-2.0
// The seam between the migration engine and the masters it moves slots between: commands are
// sent to a node by its cluster ID. migrate/links.h implements it over real connections; unit
// tests implement it with a small in-memory cluster of slots and keys
// (tests/unit/support/fake_slots.h). The engine addresses nodes by ID, not by pod ordinal as
// cluster::Pods does: a move is between two nodes of CLUSTER NODES, wherever they run.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "nodes_conf/nodes_conf.h"
#include "redis/connection.h"

namespace agent::migrate {

// A master as MIGRATE needs to reach it.
struct Peer {
  std::string id;
  std::string host;
  int port = 0;
};

class Nodes {
 public:
  virtual ~Nodes() = default;
  // Sends `commands` to node `id` at once and returns each reply (Errc::Server for an error
  // reply); the outer error says the node could not be reached or did not answer in time.
  virtual Result<std::vector<Result<redis::Reply>>> pipeline(
      const std::string& id, const std::vector<std::vector<std::string>>& commands,
      const redis::CommandOptions& options) = 0;

  // One command.
  Result<redis::Reply> command(const std::string& id, const std::vector<std::string>& args,
                               const redis::CommandOptions& options);
  Result<redis::Reply> command(const std::string& id, const std::vector<std::string>& args) {
    return command(id, args, {});
  }

  // Another seam to the same nodes with connections of its own, for moves run on another
  // thread at the same time (a connection serves one thread: replies come back in order).
  // nullptr when this seam cannot give one: the moves then run one after another.
  virtual std::unique_ptr<Nodes> another() { return nullptr; }
};

// `peer`'s CLUSTER NODES, refused when another node answers at its address (a stale plan).
Result<nodes_conf::NodesConf> viewOf(Nodes& nodes, const Peer& peer);

}  // namespace agent::migrate
