// SPDX-License-Identifier: Apache-2.0
#include "config/clients.h"

#include <utility>

#include "peers/resolver.h"

namespace agent::config {

std::optional<redis::TlsOptions> tlsOptions(const Config& c) {
  if (!c.tls) return std::nullopt;
  redis::TlsOptions tls;
  tls.ca_file = c.tls_ca_file;
  tls.cert_file = c.tls_cert_file;
  tls.key_file = c.tls_key_file;
  return tls;
}

redis::ConnectOptions redisOptions(const Config& c, std::optional<std::string> password) {
  redis::ConnectOptions options{c.redis_timeout_ms, c.redis_timeout_ms, std::move(password),
                                c.mode == Mode::Observe};
  options.tls = tlsOptions(c);
  if (options.tls && c.tls_verify == TlsVerify::Name && c.ordinal) {
    options.tls->server_name = c.peerHost(*c.ordinal);
    options.tls->sni = true;
  }
  return options;
}

cluster::PeerPoolOptions peerPoolOptions(const Config& c, std::optional<std::string> password) {
  cluster::PeerPoolOptions o;
  o.cluster_nodes = c.cluster_nodes;
  o.redis_port = c.redis.port;
  o.my_ip = c.pod_ip;
  o.connect = redisOptions(c, std::move(password));
  o.agent_port = c.http.port;
  if (o.connect.tls) o.connect.tls->server_name.clear();
  o.verify_names = c.tls && c.tls_verify == TlsVerify::Name;
  return o;
}

ServerNameFor serverNames(const Config& c) {
  if (!c.tls || c.tls_verify != TlsVerify::Name) return {};
  return [c](const std::string& host) -> std::string {
    if (host == c.redis.host && c.ordinal) return c.peerHost(*c.ordinal);
    peers::SystemResolver resolver;
    for (const std::string& name : c.peerHosts()) {
      auto ip = resolver.resolve(name, c.pod_ip);
      if (ip && *ip == host) return name;
    }
    return {};
  };
}

}  // namespace agent::config
