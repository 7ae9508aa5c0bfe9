// SPDX-License-Identifier: Apache-2.0
#include "redis/server_info.h"

#include <fmt/format.h>
#include <array>

#include "common/text.h"

namespace agent::redis {

namespace {

// "7.0.15" -> {7, 0, 15}; missing or malformed parts count as 0 and fail the check below.
std::array<uint64_t, 3> versionParts(const std::string& version) {
  std::array<uint64_t, 3> out{};
  auto parts = text::split(version, '.');
  for (size_t i = 0; i < out.size() && i < parts.size(); ++i) {
    out[i] = text::parseUint(parts[i]).value_or(0);
  }
  return out;
}

bool atLeast(const std::string& version, uint64_t major, uint64_t minor) {
  auto v = versionParts(version);
  return v[0] > major || (v[0] == major && v[1] >= minor);
}

// Major and minor only: patch releases never change the RDB format.
std::array<uint64_t, 2> majorMinor(const std::string& version) {
  auto v = versionParts(version);
  return {v[0], v[1]};
}

}  // namespace

std::optional<ServerInfo> serverInfoFrom(const InfoFields& info) {
  auto redis_version = info.get("redis_version");
  if (!redis_version) return std::nullopt;
  ServerInfo out;
  out.name = info.str("server_name", "redis");
  out.redis_version = *redis_version;
  out.version = info.str(out.name + "_version", *redis_version);
  return out;
}

Status supportedServer(const ServerInfo& server) {
  bool valkey = server.name == "valkey";
  bool ok = valkey ? atLeast(server.version, 7, 2) : atLeast(server.version, 7, 0);
  if (server.name != "redis" && !valkey) ok = atLeast(server.redis_version, 7, 0);
  if (ok) return {};
  return fail(Errc::Refused,
              fmt::format("{} {} is not supported: the agent needs {}; upgrade the server, "
                          "the agent does not act on this one",
                          valkey                   ? "Valkey"
                          : server.name == "redis" ? "Redis"
                                                   : server.name,
                          server.version, kMinimumServers));
}

bool canFollow(const ServerInfo& replica, const ServerInfo& master) {
  if (majorMinor(master.redis_version) > majorMinor(replica.redis_version)) return false;
  if (master.name != replica.name) return true;
  return majorMinor(master.version) <= majorMinor(replica.version);
}

std::string describeNode(const std::string& who, const ServerInfo& server) {
  return fmt::format("{} ({})", who, server.str());
}

}  // namespace agent::redis
