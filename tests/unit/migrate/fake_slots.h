// SPDX-License-Identifier: Apache-2.0
// Test helper: masters of a Redis Cluster reduced to what a slot move touches (which slots each
// owns, its MIGRATING/IMPORTING markers, its keys by slot), behind the migration engine's seam
// (migrate::Nodes). CLUSTER NODES, SETSLOT, GETKEYSINSLOT, MIGRATE (with BUSYKEY), ASKING, DUMP
// and the engine's compare-and-delete script behave like Redis' for this purpose. Every command
// is recorded; `before` may answer any command instead (a failure, a stop at a given step).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "migrate/nodes.h"

namespace agent::testing {

struct SlotNode {
  std::string id;
  std::string host;
  int port = 6379;
  bool master = true;
  std::set<int> owned;
  std::map<int, std::string> migrating;                    // slot -> target id
  std::map<int, std::string> importing;                    // slot -> source id
  std::map<int, std::map<std::string, std::string>> keys;  // slot -> key -> value
  std::set<std::string> hidden;  // nodes it has not heard of yet (left out of CLUSTER NODES)
  bool state_ok = true;          // CLUSTER INFO's cluster_state
  std::string replica_of;        // a replica's master, for CLUSTER NODES
  bool valkey = false;           // INFO server's server_name
  std::string replicas_info;     // INFO replication's "slaveN:..." lines
  int keyCount() const;
};

class FakeSlots final : public migrate::Nodes {
 public:
  // `masters` masters splitting the slots like redis-cli's creation, then `empty` masters that
  // own nothing; every owned slot holds `keys_per_slot` keys named "k<slot>-<i>".
  static FakeSlots split(int masters, int empty, int keys_per_slot);

  std::vector<SlotNode> nodes;
  std::optional<std::string> password;  // MIGRATE must carry it with AUTH2
  // Called before every command; a value answers it instead of the model.
  std::function<std::optional<Result<redis::Reply>>(const std::string& id,
                                                    const std::vector<std::string>& args)>
      before;
  // Called after the model applied a command: true fails the pipeline as a connection the
  // server closed would (Valkey drops a master's clients when its last slot leaves).
  std::function<bool(const std::string& id, const std::vector<std::string>& args)> lose_reply;

  struct Sent {
    std::string id;
    std::vector<std::string> args;
    std::vector<size_t> secret_args;    // as the engine marked them for scrubbing
    std::optional<int64_t> timeout_ms;  // the engine's own deadline for the reply
    // "3 CLUSTER SETSLOT 5 NODE 3" (ids by their first digit); MIGRATE's keys as "KEYS(n)".
    std::string text() const;
  };
  std::vector<Sent> sent;
  // The sent commands' texts whose words after the node start with `prefix`.
  std::vector<std::string> texts(const std::string& prefix) const;

  SlotNode& node(const std::string& id);
  // Every node, as a seed's view listing them all as masters would give them.
  std::vector<migrate::Peer> peers() const;
  // Who owns `slot` (by the nodes' own claims); "" when nobody does.
  std::string owner(int slot) const;
  // Every open marker of every node.
  int openSlots() const;
  // Every key with its value, wherever it is; and whether every key sits on its slot's owner.
  std::map<std::string, std::string> allKeys() const;
  bool keysOnOwners() const;

  Result<std::vector<Result<redis::Reply>>> pipeline(
      const std::string& id, const std::vector<std::vector<std::string>>& commands,
      const redis::CommandOptions& options) override;

 private:
  Result<redis::Reply> apply(SlotNode& n, const std::vector<std::string>& args);
  Result<redis::Reply> setslot(SlotNode& n, const std::vector<std::string>& args);
  Result<redis::Reply> migrate(SlotNode& n, const std::vector<std::string>& args);
  Result<redis::Reply> evalDropIfSame(SlotNode& n, const std::vector<std::string>& args);
  std::string clusterNodes(const SlotNode& me) const;
};

// The DUMP payload the fake answers for a value.
std::string fakeDump(const std::string& value);

}  // namespace agent::testing
