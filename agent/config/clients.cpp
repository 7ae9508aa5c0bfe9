// SPDX-License-Identifier: Apache-2.0
#include "config/clients.h"

#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "common/clock.h"

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

namespace {

// The pods' addresses and names as last resolved (podServerNames). The migration engine's
// threads connect at the same time: one lock around the lookups.
struct NameBook {
  std::mutex mu;
  std::map<std::string, std::string> name_of;  // address -> pod DNS name
  int64_t resolved_ms = -1;

  void resolve(const Config& c) {
    name_of.clear();
    peers::SystemResolver resolver;
    // Redis Cluster's practical limit is ~1000 nodes: a wildcard DNS record ends here.
    for (int k = 0; k < 1000; ++k) {
      std::string name = c.peerHost(k);
      auto ip = resolver.resolve(name, c.pod_ip);
      if (ip) name_of[*ip] = name;
      // Below the shape's size a missing pod is a gap; past it, the end of the pods.
      if (!ip && k >= c.cluster_nodes) return;
    }
  }
};

}  // namespace

ServerNameFor podServerNames(const Config& c) {
  if (!c.tls || c.tls_verify != TlsVerify::Name || c.peer_host_template.empty()) return {};
  auto book = std::make_shared<NameBook>();
  return [c, book](const std::string& host) -> std::string {
    if (host == c.redis.host && c.ordinal) return c.peerHost(*c.ordinal);
    if (!peers::isIpLiteral(host)) return host;
    std::lock_guard lock(book->mu);
    auto it = book->name_of.find(host);
    if (it == book->name_of.end() && monotonicMs() - book->resolved_ms >= 1000) {
      book->resolve(c);
      book->resolved_ms = monotonicMs();
      it = book->name_of.find(host);
    }
    return it == book->name_of.end() ? std::string() : it->second;
  };
}

}  // namespace agent::config
