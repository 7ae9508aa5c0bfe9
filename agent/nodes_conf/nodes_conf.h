// SPDX-License-Identifier: Apache-2.0
// The nodes.conf model: parse and render every format Redis 5.0 to 7.4 and Valkey 7.2/8.x write
// (and the identical line grammar of CLUSTER NODES). Pure: no I/O, no logging. Lines that are not
// changed render byte-identical; a changed line differs only in the host part of its address.
// Depends on nothing third-party.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace agent::nodes_conf {

inline constexpr int kSlotCount = 16384;

struct SlotRange {
  int first = 0;
  int last = 0;
  int count() const { return last - first + 1; }
  bool operator==(const SlotRange&) const = default;
};

// "[slot->-id]" (migrating to id) or "[slot-<-id]" (importing from id); myself only.
struct OpenSlot {
  int slot = 0;
  bool migrating = false;
  std::string node_id;
};

// The address field: "host:port@cport[,hostname[,aux=value...]]". host may be empty (unknown
// own IP, or a noaddr peer) and may be an IPv6 address written without brackets.
struct Address {
  std::string host;
  std::string port_text;                // verbatim, e.g. "6379"
  std::optional<std::string> bus_text;  // verbatim cport; absent in very old files
  std::optional<std::string> extra;     // everything after the first ',' (hostname, aux), verbatim
  std::string hostname;                 // first element of `extra`, may be empty
  std::vector<std::pair<std::string, std::string>> aux;  // 7.2+ "key=value" fields, in order

  // The value of a 7.2+ aux field (e.g. "shard-id"), if the address carries it.
  std::optional<std::string> auxValue(std::string_view key) const;
  // The port in the address. Valkey 8 writes the plaintext port here (0 on a TLS-only node) and
  // the TLS port as the aux field tls-port; Redis 6.2-7.0 write the TLS port here when
  // tls-cluster is on.
  int port() const;
  int busPort() const;  // cport, or port + 10000 when the file has none (Redis' own fallback)
  std::string render() const;
  std::string endpoint() const;  // "host:port", IPv6 hosts in brackets
};

struct Node {
  std::string id;
  Address address;
  std::vector<std::string> flags;
  std::string master_id;  // empty for "-"
  uint64_t ping_sent = 0;
  uint64_t pong_received = 0;
  uint64_t config_epoch = 0;
  std::string link_state;
  std::vector<SlotRange> slots;
  std::vector<OpenSlot> open_slots;

  bool hasFlag(std::string_view flag) const;
  bool isMyself() const { return hasFlag("myself"); }
  bool isMaster() const { return hasFlag("master") || hasFlag("primary"); }
  bool isReplica() const { return hasFlag("slave") || hasFlag("replica"); }
  bool isFailed() const { return hasFlag("fail"); }
  bool isPfail() const { return hasFlag("fail?"); }
  bool isNoaddr() const { return hasFlag("noaddr"); }
  bool inHandshake() const { return hasFlag("handshake"); }
  bool isConnected() const { return link_state == "connected"; }
  int slotCount() const;
};

// A replica line whose shard-id was not its primary's, and what it got (see
// NodesConf::adoptPrimaryShardIds).
struct ShardIdRepair {
  std::string replica_id;
  std::optional<std::string> had;  // none: the line carried no shard-id
  std::string primary_id;
  std::string shard_id;  // the primary's, now the replica's too
};

struct Vars {
  std::vector<std::pair<std::string, std::string>> values;  // in file order
  std::optional<uint64_t> get(std::string_view key) const;
};

// A parsed file. Keeps every line's original text so unchanged lines render byte-identical.
class NodesConf {
 public:
  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& myself() const { return nodes_[myself_index_]; }
  size_t myselfIndex() const { return myself_index_; }
  const Vars& vars() const { return vars_; }
  bool hasVarsLine() const { return has_vars_; }
  const Node* find(std::string_view id) const;
  // Warnings about content kept verbatim that the server may refuse (unknown aux keys).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Replaces the host of node `index`; port, bus port, hostname, aux and the rest of the line
  // stay as they were.
  void setHost(size_t index, std::string host);
  // Gives every replica whose shard-id differs from its primary's (or is missing while the
  // primary has one) the primary's. Valkey 8.0.1 writes such files itself while shard ids
  // settle after a failover or creation, then refuses to load them; later releases adopt the
  // primary's shard-id at load, which is what this does. Only that aux value changes.
  std::vector<ShardIdRepair> adoptPrimaryShardIds();
  std::string render() const;

  friend Result<NodesConf> parse(std::string_view text);
  friend Result<NodesConf> parseClusterNodes(std::string_view text);

 private:
  struct Line {
    std::string raw;             // a run of blank lines: all of them, joined by '\n'
    std::optional<size_t> node;  // index into nodes_ for node lines
    size_t addr_begin = 0;       // span of the address field inside `raw`
    size_t addr_end = 0;
    bool dirty = false;
    bool blank = false;
  };
  static Result<NodesConf> parseText(std::string_view text, bool is_file);
  void setAux(size_t index, const std::string& key, const std::string& value);
  Status addLine(std::string_view raw, size_t line_no, bool is_file, std::optional<size_t>& myself);

  std::vector<Line> lines_;
  std::vector<Node> nodes_;
  Vars vars_;
  bool has_vars_ = false;
  bool trailing_newline_ = false;
  size_t myself_index_ = 0;
  std::vector<std::string> warnings_;
};

// Parses a nodes.conf file. Fails on anything Redis would refuse or crash on (no myself line,
// unknown flag, bad id, bad slot, malformed vars); the error message starts with "line N:".
Result<NodesConf> parse(std::string_view text);
// Parses CLUSTER NODES output (same line grammar, no vars line).
Result<NodesConf> parseClusterNodes(std::string_view text);

// Parses one node line; exposed for tests and for callers reading single lines.
Result<Node> parseNodeLine(std::string_view line);

bool isValidNodeId(std::string_view id);

}  // namespace agent::nodes_conf
