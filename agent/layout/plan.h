// SPDX-License-Identifier: Apache-2.0
// The layout keeper's decisions, kept pure so they can be tested on recorded views: for every
// shard of one node's CLUSTER NODES, which member should be its master so that masters spread
// over zones and Kubernetes nodes (and, by choice, sit on the ordinals the creator chose), and
// in which order to move them there, one shard at a time. No I/O, no logging; layout/keeper.h
// acts on it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/create_plan.h"
#include "nodes_conf/nodes_conf.h"

namespace agent::layout {

// What the keeper restores: nothing, masters spread over zones and nodes, or that plus the
// creator's ordinals wherever they cost no spread.
enum class Target { Off, Spread, Ordinals };
const char* targetName(Target target);

// Where one cluster node runs, as its agent reports it.
struct Place {
  int ordinal = -1;
  std::string pod;  // "redis-3"; "" when not known
  cluster::Placement where;
};

// One member of a shard: its master or one of its replicas.
struct Member {
  std::string id;
  std::string name;  // pod name, else the short node ID
  std::optional<Place> place;
  bool eligible = false;  // the current master, or a replica that works and is linked in the view
};

struct Shard {
  std::string slots;  // "0-5460", as CLUSTER NODES lists them
  int first_slot = 0;
  std::vector<Member> members;  // the current master first
  size_t wanted = 0;            // index of the member the layout wants as master
  std::string reason;           // why the master should move; "" when it is where it should be
  bool off() const { return wanted != 0; }
  const Member& master() const { return members.front(); }
};

// One graceful failover: the replica `to` takes over its shard from `from`.
struct Move {
  size_t shard = 0;
  std::string from;
  std::string to;
  std::string to_name;
  std::string reason;
};

// How the masters share zones and Kubernetes nodes.
struct Spread {
  std::map<std::string, int> per_node;  // masters per Kubernetes node (named ones)
  std::map<std::string, int> per_zone;
  int node_pairs = 0;  // pairs of masters on one node
  int zone_pairs = 0;
};

struct Plan {
  std::vector<Shard> shards;         // in slot order
  std::vector<Move> moves;           // what to do, next first; empty when the layout is kept
  Spread now;                        // the masters as they are
  Spread best;                       // the masters as the layout wants them
  std::vector<std::string> unknown;  // members whose place is not known yet: no move until known
  bool searched_all = true;          // false when the search stopped at its bound (huge clusters)
  int offShards() const;
};

struct Input {
  const nodes_conf::NodesConf* view = nullptr;
  std::map<std::string, Place> places;  // by node ID
  std::vector<int> preferred_masters;   // the creator's master ordinals (Target::Ordinals)
  Target target = Target::Ordinals;
};

// The master ordinals the creator would choose for where the pods run now (by ordinal, from
// `places`): cluster/create_plan.h.
std::vector<int> creatorMasters(int nodes, int replicas,
                                const std::map<std::string, Place>& places);

// Decides for one view. Each shard's master may move only to a member that is eligible and
// placed; among all such layouts the best is, in this order: fewest pairs of masters sharing a
// zone, then a Kubernetes node, then fewest replicas in their master's zone, then on its node,
// then (Target::Ordinals) fewest masters off the creator's ordinals, then fewest moves. Moves
// are ordered so that each next one leaves the best layout on the way (ties: lowest slot first).
Plan plan(const Input& in);

}  // namespace agent::layout
