// SPDX-License-Identifier: Apache-2.0
// Which server answers on a connection, from INFO's server section, and whether the agent may
// act on it. Valkey 8.0.1 reports server_name:valkey, valkey_version:8.0.1 and, for clients
// that test for Redis, redis_version:7.2.4; Redis (7.0 has no server_name) only redis_version.
#pragma once

#include <string>

#include "common/result.h"
#include "redis/info.h"

namespace agent::redis {

struct ServerInfo {
  std::string name;           // "redis" or "valkey"
  std::string version;        // the server's own version ("7.0.15", "8.0.1")
  std::string redis_version;  // the Redis version it is compatible with ("7.2.4" on Valkey 8)
  // "redis 7.0.15", "valkey 8.0.1".
  std::string str() const { return name + " " + version; }
};

// nullopt when the text has no redis_version (not the server section, or not a Redis).
std::optional<ServerInfo> serverInfoFrom(const InfoFields& info);

// The oldest servers the agent works with: Redis 7.0 (CLUSTER ADDSLOTSRANGE, CLIENT PAUSE ...
// WRITE, the nodes.conf formats it knows) and Valkey 7.2, the first Valkey.
inline constexpr const char* kMinimumServers = "Redis 7.0 or later, or Valkey 7.2 or later";

// Errc::Refused, in one line naming the version found and the minimum, for anything older.
Status supportedServer(const ServerInfo& server);

// True when a node running `replica` can follow a master running `master`: the master is not
// newer. A server reads only the RDB formats of its own version and older ones, and a full sync
// sends the master's format (docs/redis-facts.md, "Server versions and which way replication
// works"). Newer means a higher Redis-compatible major.minor (Valkey 8 counts as Redis 7.2, whose
// format it shares), or the same server at a higher major.minor of its own: conservative where
// two releases share a format (Valkey 8.0 -> 8.1 is refused although both write RDB 11).
bool canFollow(const ServerInfo& replica, const ServerInfo& master);

// "redis-3 (redis 7.0.15)": a node and its server, for refusal messages.
std::string describeNode(const std::string& who, const ServerInfo& server);

}  // namespace agent::redis
