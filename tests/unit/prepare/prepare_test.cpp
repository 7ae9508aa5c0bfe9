// SPDX-License-Identifier: Apache-2.0
#include "prepare/prepare.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "common/files.h"
#include "peers/resolver.h"
#include "statefile/statefile.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::readData;
using agent::testing::TempDir;

namespace {

// Pod name -> IP, like an /etc/hosts; unknown names do not resolve.
class FakeResolver final : public peers::Resolver {
 public:
  std::map<std::string, std::string> hosts;
  Result<std::string> resolve(const std::string& name, const std::string&) override {
    auto it = hosts.find(name);
    if (it == hosts.end()) return fail(Errc::NotFound, "cannot resolve " + name);
    return it->second;
  }
};

std::string pod(int i) {
  return "redis-" + std::to_string(i) + ".svc";
}

struct Plan {
  nodes_conf::NodesConf conf;
  prepare::RewritePlan plan;
  std::string rendered;
};

Plan planFor(const std::string& fixture, const nodes_conf::OrdinalMap& map,
             const std::string& my_ip, const std::map<int, std::string>& ips) {
  auto conf = nodes_conf::parse(readData("nodes_conf/" + fixture));
  REQUIRE(conf.has_value());
  auto resolve = [&](int ord) -> Result<std::string> {
    auto it = ips.find(ord);
    if (it == ips.end()) return fail(Errc::NotFound, "cannot resolve " + pod(ord));
    return it->second;
  };
  auto plan = prepare::planRewrite(*conf, map, my_ip, 6, pod, resolve);
  for (const auto& ch : plan.changes) conf->setHost(ch.index, ch.new_host);
  std::string rendered = conf->render();
  return {std::move(*conf), std::move(plan), std::move(rendered)};
}

// The 7.0 fixture's node IDs by ordinal (127.31.0.11 is ordinal 0, ...).
nodes_conf::OrdinalMap createdClusterMap() {
  auto conf = nodes_conf::parse(readData("nodes_conf/redis-7.0-created-master.conf"));
  REQUIRE(conf.has_value());
  nodes_conf::OrdinalMap map;
  for (const auto& n : conf->nodes()) {
    map.set(n.id, std::stoi(n.address.host.substr(n.address.host.rfind('.') + 1)) - 11);
  }
  return map;
}

std::string hostOf(const nodes_conf::NodesConf& conf, const nodes_conf::OrdinalMap& map, int ord) {
  return conf.find(*map.idOf(ord))->address.host;
}

}  // namespace

TEST_CASE("every node moves to its pod's current IP at once") {
  auto map = createdClusterMap();
  std::map<int, std::string> ips;
  for (int i = 0; i < 6; ++i) ips[i] = "127.32.0." + std::to_string(20 + i);
  auto p = planFor("redis-7.0-created-master.conf", map, "127.32.0.20", ips);
  CHECK(p.plan.changes.size() == 6);
  CHECK(p.plan.kept.empty());
  for (int i = 0; i < 6; ++i) CHECK(hostOf(p.conf, map, i) == ips[i]);
  CHECK(p.rendered.find("127.31.") == std::string::npos);
}

TEST_CASE("two peers that swapped IPs end up right") {
  auto map = createdClusterMap();
  std::map<int, std::string> ips;
  for (int i = 0; i < 6; ++i) ips[i] = "127.31.0." + std::to_string(11 + i);
  std::swap(ips[1], ips[2]);
  auto p = planFor("redis-7.0-created-master.conf", map, "127.31.0.11", ips);
  CHECK(p.plan.changes.size() == 2);
  CHECK(hostOf(p.conf, map, 1) == "127.31.0.13");
  CHECK(hostOf(p.conf, map, 2) == "127.31.0.12");
}

TEST_CASE("an IP reused by another pod goes to its new owner only") {
  auto map = createdClusterMap();
  std::map<int, std::string> ips;
  for (int i = 0; i < 6; ++i) ips[i] = "127.31.0." + std::to_string(11 + i);
  ips[3] = "127.31.0.99";  // pod 3 moved away ...
  ips[4] = "127.31.0.14";  // ... and pod 4 got its old IP
  auto p = planFor("redis-7.0-created-master.conf", map, "127.31.0.11", ips);
  CHECK(hostOf(p.conf, map, 3) == "127.31.0.99");
  CHECK(hostOf(p.conf, map, 4) == "127.31.0.14");
}

TEST_CASE("an unresolvable peer keeps its address and is reported") {
  auto map = createdClusterMap();
  std::map<int, std::string> ips = {{1, "127.40.0.2"}};
  auto p = planFor("redis-7.0-created-master.conf", map, "127.40.0.1", ips);
  CHECK(p.plan.changes.size() == 2);
  CHECK(p.plan.kept.size() == 4);
  CHECK(p.plan.kept[0].why.find("cannot resolve") != std::string::npos);
  CHECK(hostOf(p.conf, map, 2) == "127.31.0.13");
}

TEST_CASE("a name that resolves late is waited for, within one shared bound") {
  int calls = 0;
  prepare::ResolveOrdinal late = [&](int ordinal) -> Result<std::string> {
    ++calls;
    if (ordinal == 1 && calls >= 3) return std::string("10.0.0.2");
    return fail(Errc::NotFound, "cannot resolve redis-" + std::to_string(ordinal));
  };
  auto patient = prepare::withDnsWait(late, 2000, 10);
  auto ip = patient(1);
  REQUIRE(ip);
  CHECK(*ip == "10.0.0.2");
  CHECK(calls == 3);

  // A name that never resolves costs the bound once; the next one is not waited for again.
  calls = 0;
  auto bounded = prepare::withDnsWait(late, 100, 10);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(bounded(2));
  CHECK_FALSE(bounded(3));
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= std::chrono::milliseconds(90));  // the clock counts whole ms
  CHECK(waited < std::chrono::milliseconds(1000));
}

TEST_CASE("no wait: one try; errors that waiting cannot fix are not retried") {
  int calls = 0;
  prepare::ResolveOrdinal never = [&](int) -> Result<std::string> {
    ++calls;
    return fail(Errc::NotFound, "cannot resolve");
  };
  CHECK_FALSE(prepare::withDnsWait(never, 0)(1));
  CHECK(calls == 1);
  calls = 0;
  prepare::ResolveOrdinal invalid = [&](int) -> Result<std::string> {
    ++calls;
    return fail(Errc::Invalid, "no --peer-host-template");
  };
  CHECK_FALSE(prepare::withDnsWait(invalid, 5000)(1));
  CHECK(calls == 1);
}

TEST_CASE("a node the map does not know keeps its address") {
  auto p = planFor("redis-7.0-created-master.conf", {}, "127.40.0.1", {{1, "127.40.0.2"}});
  CHECK(p.plan.changes.size() == 1);  // myself only
  CHECK(p.plan.kept.size() == 5);
}

TEST_CASE("IPv6: myself and peers") {
  nodes_conf::OrdinalMap map;
  auto conf = nodes_conf::parse(readData("nodes_conf/redis-7.0-ipv6.conf"));
  REQUIRE(conf.has_value());
  for (size_t i = 0; i < conf->nodes().size(); ++i) map.set(conf->nodes()[i].id, int(i));
  std::map<int, std::string> ips;
  for (int i = 0; i < 6; ++i) ips[i] = "fd00::2:" + std::to_string(i);
  auto p = planFor("redis-7.0-ipv6.conf", map, "fd00::2:0", ips);
  CHECK(p.plan.changes.size() == 6);
  CHECK(p.rendered.find("fd00::2:0:6379@16379 myself,master") != std::string::npos);
  CHECK(p.rendered.find("fd00::2:5:6379@16379 slave") != std::string::npos);
}

TEST_CASE("hostname and aux fields are kept; the hostname finds the pod without a map") {
  SUBCASE("7.0 hostname field") {
    std::map<int, std::string> ips;
    for (int i = 0; i < 6; ++i) ips[i] = "10.9.0." + std::to_string(i);
    auto conf = nodes_conf::parse(readData("nodes_conf/redis-7.0-hostname.conf"));
    REQUIRE(conf.has_value());
    auto resolve = [&](int ord) -> Result<std::string> { return ips[ord]; };
    auto host = [](int i) {
      return "redis-" + std::to_string(i) + ".redis-headless.default.svc.cluster.local";
    };
    auto plan = prepare::planRewrite(*conf, {}, "10.9.0.0", 6, host, resolve);
    CHECK(plan.changes.size() == 6);
    for (const auto& ch : plan.changes) conf->setHost(ch.index, ch.new_host);
    CHECK(conf->render().find("10.9.0.3:6379@16379,redis-3.redis-headless.default.svc.cluster."
                              "local slave") != std::string::npos);
  }
  SUBCASE("7.2 aux fields") {
    nodes_conf::OrdinalMap map;
    auto conf = nodes_conf::parse(readData("nodes_conf/redis-7.2.conf"));
    REQUIRE(conf.has_value());
    for (size_t i = 0; i < conf->nodes().size(); ++i) map.set(conf->nodes()[i].id, int(i));
    std::map<int, std::string> ips;
    for (int i = 0; i < 6; ++i) ips[i] = "10.8.0." + std::to_string(i);
    auto p = planFor("redis-7.2.conf", map, "10.8.0.1", ips);
    CHECK(p.rendered.find("10.8.0.1:6379@16379,,tls-port=0,shard-id=2a6b1f0c7e3d9a5b8c4e6f2a1d3b5"
                          "c7e9f0a2b4c myself,master") != std::string::npos);
  }
}

namespace {

// The pods of a Valkey 8.0 fixture, from its recorded addresses: the last IPv4 octet (11 is
// ordinal 0), or the port offset for the IPv6 cluster that runs every node on ::1.
nodes_conf::OrdinalMap valkeyMap(const std::string& fixture) {
  auto conf = nodes_conf::parse(readData("nodes_conf/" + fixture));
  REQUIRE(conf.has_value());
  nodes_conf::OrdinalMap map;
  for (const auto& n : conf->nodes()) {
    const auto& a = n.address;
    map.set(n.id,
            a.host == "::1" ? a.port() % 10 : std::stoi(a.host.substr(a.host.rfind('.') + 1)) - 11);
  }
  return map;
}

// Puts the old hosts back into a rendered rewrite: it must give the original bytes, i.e. the
// rewrite changed host parts and nothing else (aux fields, shard-ids, ports, flags, epochs).
void checkOnlyHostsChanged(const std::string& fixture, const Plan& p) {
  auto original = nodes_conf::parse(readData("nodes_conf/" + fixture));
  auto rewritten = nodes_conf::parse(p.rendered);
  REQUIRE(original.has_value());
  REQUIRE(rewritten.has_value());
  for (size_t i = 0; i < original->nodes().size(); ++i) {
    rewritten->setHost(i, original->nodes()[i].address.host);
  }
  CHECK(rewritten->render() == readData("nodes_conf/" + fixture));
}

}  // namespace

TEST_CASE("Valkey 8.0: only host parts move; shard-ids and every aux field stay") {
  std::map<int, std::string> ips;
  for (int i = 0; i < 6; ++i) ips[i] = "10.7.0." + std::to_string(i);
  for (const char* fixture :
       {"valkey-8.0-created-master.conf", "valkey-8.0-created-replica.conf",
        "valkey-8.0-after-failover.conf", "valkey-8.0-migrating.conf", "valkey-8.0-importing.conf",
        "valkey-8.0-migrating-replica.conf", "valkey-8.0-hostname.conf",
        "valkey-8.0-client-ip.conf", "valkey-8.0-tls.conf"}) {
    CAPTURE(fixture);
    auto map = valkeyMap(fixture);
    auto conf = nodes_conf::parse(readData(std::string("nodes_conf/") + fixture));
    REQUIRE(conf.has_value());
    int me = *map.ordinalOf(conf->myself().id);
    auto p = planFor(fixture, map, ips[me], ips);
    CHECK(p.plan.changes.size() == 6);
    CHECK(p.plan.kept.empty());
    for (int i = 0; i < 6; ++i) CHECK(hostOf(p.conf, map, i) == ips[i]);
    checkOnlyHostsChanged(fixture, p);
  }
}

TEST_CASE("Valkey 8.0: a replica keeps its primary's shard-id through the rewrite") {
  auto map = valkeyMap("valkey-8.0-created-replica.conf");
  std::map<int, std::string> ips;
  for (int i = 0; i < 6; ++i) ips[i] = "10.7.1." + std::to_string(i);
  auto conf = nodes_conf::parse(readData("nodes_conf/valkey-8.0-created-replica.conf"));
  REQUIRE(conf.has_value());
  const auto& me = conf->myself();
  REQUIRE(me.isReplica());
  auto p = planFor("valkey-8.0-created-replica.conf", map, ips[*map.ordinalOf(me.id)], ips);
  auto after = nodes_conf::parse(p.rendered);
  REQUIRE(after.has_value());
  CHECK(after->warnings().empty());
  CHECK(after->myself().address.auxValue("shard-id") == me.address.auxValue("shard-id"));
  CHECK(after->find(me.master_id)->address.auxValue("shard-id") == me.address.auxValue("shard-id"));
  CHECK(p.rendered.find(ips[*map.ordinalOf(me.id)] + ":6379@16379,,tls-port=0,shard-id=" +
                        *me.address.auxValue("shard-id") + " myself,slave ") != std::string::npos);
}

TEST_CASE("Valkey 8.0: fresh node, hostnames without a map, IPv6, TLS port 0") {
  SUBCASE("fresh node: the empty host gets POD_IP, its ports and aux stay") {
    auto p = planFor("valkey-8.0-fresh.conf", {}, "10.7.2.1", {});
    CHECK(p.plan.changes.size() == 1);
    CHECK(p.rendered.rfind("10.7.2.1:6379@16379,,tls-port=0,shard-id=", 41) == 41);
    checkOnlyHostsChanged("valkey-8.0-fresh.conf", p);
  }
  SUBCASE("cluster-announce-hostname finds each pod without the map") {
    std::map<int, std::string> ips;
    for (int i = 0; i < 6; ++i) ips[i] = "10.7.3." + std::to_string(i);
    auto conf = nodes_conf::parse(readData("nodes_conf/valkey-8.0-hostname.conf"));
    REQUIRE(conf.has_value());
    auto resolve = [&](int ord) -> Result<std::string> { return ips[ord]; };
    auto host = [](int i) {
      return "redis-" + std::to_string(i) + ".redis-headless.default.svc.cluster.local";
    };
    auto plan = prepare::planRewrite(*conf, {}, "10.7.3.0", 6, host, resolve);
    CHECK(plan.changes.size() == 6);
    for (const auto& ch : plan.changes) conf->setHost(ch.index, ch.new_host);
    CHECK(conf->render().find("10.7.3.3:6379@16379,redis-3.redis-headless.default.svc.cluster."
                              "local,tls-port=0,nodename=redis-3,shard-id=") != std::string::npos);
  }
  SUBCASE("IPv6") {
    auto map = valkeyMap("valkey-8.0-ipv6.conf");
    std::map<int, std::string> ips;
    for (int i = 0; i < 6; ++i) ips[i] = "fd00:10:244::" + std::to_string(i);
    auto p = planFor("valkey-8.0-ipv6.conf", map, ips[0], ips);
    CHECK(p.plan.changes.size() == 6);
    CHECK(p.rendered.find(" ::1:") == std::string::npos);
    CHECK(p.rendered.find("fd00:10:244::0:" + p.conf.myself().address.port_text + "@") !=
          std::string::npos);
    checkOnlyHostsChanged("valkey-8.0-ipv6.conf", p);
  }
  SUBCASE("TLS only: the address port stays 0, tls-port stays") {
    auto map = valkeyMap("valkey-8.0-tls.conf");
    std::map<int, std::string> ips;
    for (int i = 0; i < 6; ++i) ips[i] = "10.7.4." + std::to_string(i);
    auto p = planFor("valkey-8.0-tls.conf", map, ips[0], ips);
    CHECK(p.rendered.find("10.7.4.0:0@16379,,tls-port=6379,shard-id=") != std::string::npos);
  }
}

TEST_CASE("include file quotes the password for redis.conf") {
  CHECK(prepare::renderInclude(std::nullopt, "").find("requirepass") == std::string::npos);
  auto text = prepare::renderInclude(std::string("p\"a s\\s\x01"), "10.0.0.7");
  CHECK(text.find("cluster-announce-ip 10.0.0.7\n") != std::string::npos);
  CHECK(text.find("requirepass \"p\\\"a s\\\\s\\x01\"\n") != std::string::npos);
  CHECK(text.find("masterauth \"p\\\"a s\\\\s\\x01\"\n") != std::string::npos);
}

namespace {

config::Config prepareConfig(const TempDir& dir) {
  config::Config c;
  c.command = config::Command::Prepare;
  c.pod_ip = "127.41.0.1";
  c.nodes_conf = dir.file("nodes.conf");
  c.data_dir = dir.path();
  c.redis = {"127.0.0.1", 1};  // nothing listens: Redis is "stopped"
  c.peer_host_template = "redis-{ordinal}.svc";
  c.dns_wait_ms = 0;  // the fake resolver never changes its mind; the wait has its own tests
  return c;
}

}  // namespace

TEST_CASE("run: fresh node, rewrite with backup, then nothing the second time") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  auto fresh = prepare::run(c, resolver);
  REQUIRE(fresh.has_value());
  CHECK(fresh->outcome == prepare::Outcome::FreshNode);
  CHECK_FALSE(files::exists(c.nodes_conf));

  std::string original = readData("nodes_conf/redis-7.0-created-master.conf");
  REQUIRE(files::writeAtomically(c.nodes_conf, original));
  REQUIRE(files::writeAtomically(dir.file("dump.rdb"), "REDIS0010"));
  auto first = prepare::run(c, resolver);
  REQUIRE(first.has_value());
  CHECK(first->outcome == prepare::Outcome::Rewritten);
  CHECK(*files::read(c.nodes_conf + ".bak") == original);
  std::string after_first = *files::read(c.nodes_conf);
  auto second = prepare::run(c, resolver);
  REQUIRE(second.has_value());
  CHECK(second->outcome == prepare::Outcome::Unchanged);
  CHECK(*files::read(c.nodes_conf) == after_first);
}

TEST_CASE("run: a Valkey 8.0 replica's file, rewritten once, byte for byte but the hosts") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  std::string original = readData("nodes_conf/valkey-8.0-created-replica.conf");
  auto conf = nodes_conf::parse(original);
  REQUIRE(conf.has_value());
  auto map = valkeyMap("valkey-8.0-created-replica.conf");
  for (int i = 0; i < 6; ++i) resolver.hosts[pod(i)] = "127.41.1." + std::to_string(i);
  c.pod_ip = "127.41.1." + std::to_string(*map.ordinalOf(conf->myself().id));
  REQUIRE(files::writeAtomically(statefile::pathBeside(c.nodes_conf, statefile::kOrdinalMap),
                                 map.render()));
  REQUIRE(files::writeAtomically(c.nodes_conf, original));
  auto first = prepare::run(c, resolver);
  REQUIRE(first.has_value());
  CHECK(first->outcome == prepare::Outcome::Rewritten);
  CHECK(first->plan.changes.size() == 6);
  CHECK(*files::read(c.nodes_conf + ".bak") == original);
  std::string written = *files::read(c.nodes_conf);
  auto after = nodes_conf::parse(written);
  REQUIRE(after.has_value());
  for (size_t i = 0; i < conf->nodes().size(); ++i) {
    CHECK(after->nodes()[i].address.host ==
          "127.41.1." + std::to_string(*map.ordinalOf(conf->nodes()[i].id)));
    after->setHost(i, conf->nodes()[i].address.host);
  }
  CHECK(after->render() == original);
  auto second = prepare::run(c, resolver);
  REQUIRE(second.has_value());
  CHECK(second->outcome == prepare::Outcome::Unchanged);
  CHECK(*files::read(c.nodes_conf) == written);
}

TEST_CASE("run: data without nodes.conf is refused and nothing is created") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  REQUIRE(files::writeAtomically(dir.file("dump.rdb"), "REDIS0010"));
  auto r = prepare::run(c, resolver);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Refused);
  CHECK(r.error().message.find("holds data") != std::string::npos);
  CHECK_FALSE(files::exists(c.nodes_conf));
  CHECK(*files::read(dir.file("dump.rdb")) == "REDIS0010");
}

TEST_CASE("run: the include file is written with mode 0600") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  REQUIRE(files::writeAtomically(dir.file("secret"), "s3cret\n"));
  c.redis_password_file = dir.file("secret");
  c.include_file = dir.file("agent.conf");
  REQUIRE(prepare::run(c, resolver).has_value());
  struct stat st {};
  REQUIRE(stat(c.include_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(files::read(c.include_file)->find("requirepass \"s3cret\"") != std::string::npos);
}

TEST_CASE("run: a master without data files waits for its replica, within a bound") {
  TempDir dir;
  FakeResolver resolver;  // no pod resolves: the replica cannot be reached
  auto c = prepareConfig(dir);
  c.takeover_timeout_ms = 300;
  REQUIRE(
      files::writeAtomically(c.nodes_conf, readData("nodes_conf/redis-7.0-created-master.conf")));
  auto r = prepare::run(c, resolver);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Refused);
  CHECK(r.error().message.find("no replica took them over") != std::string::npos);
}

TEST_CASE("run: a master without data and without any replica starts empty") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  c.takeover_timeout_ms = 300;
  REQUIRE(files::writeAtomically(c.nodes_conf, readData("nodes_conf/redis-3.2-nobusport.conf")));
  auto r = prepare::run(c, resolver);
  CHECK(r.has_value());
}

// Issue 12, defect 6: the file shapes Redis or an operator can leave behind.

TEST_CASE("run: a 0-byte nodes.conf without data is a fresh node; with data it is refused") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  REQUIRE(files::writeAtomically(c.nodes_conf, ""));  // a full disk left it so
  auto fresh = prepare::run(c, resolver);
  REQUIRE(fresh.has_value());
  CHECK(fresh->outcome == prepare::Outcome::FreshNode);
  CHECK(*files::read(c.nodes_conf) == "");

  REQUIRE(files::writeAtomically(dir.file("dump.rdb"), "REDIS0010"));
  auto refused = prepare::run(c, resolver);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == Errc::Refused);
  CHECK(refused.error().message.find("empty (0 bytes)") != std::string::npos);
  CHECK(*files::read(dir.file("dump.rdb")) == "REDIS0010");
}

TEST_CASE("run: a FIFO as nodes.conf is refused at once, not read forever") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  REQUIRE(::mkfifo(c.nodes_conf.c_str(), 0644) == 0);
  auto begin = std::chrono::steady_clock::now();
  auto r = prepare::run(c, resolver);
  CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(2));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Invalid);
  CHECK(r.error().message.find("FIFO") != std::string::npos);
  CHECK(files::inspect(c.nodes_conf)->type == files::FileInfo::Type::Fifo);
}

TEST_CASE("run: a rewrite keeps the owner, group and mode Redis' user needs") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  REQUIRE(files::writeAtomically(c.nodes_conf, readData("nodes_conf/redis-7.0-created-master.conf"),
                                 0640));
  REQUIRE(files::writeAtomically(dir.file("dump.rdb"), "REDIS0010"));
  bool root = ::geteuid() == 0;
  if (root) REQUIRE(::chown(c.nodes_conf.c_str(), 999, 999) == 0);
  auto r = prepare::run(c, resolver);
  REQUIRE(r.has_value());
  REQUIRE(r->outcome == prepare::Outcome::Rewritten);
  for (const std::string& path : {c.nodes_conf, c.nodes_conf + ".bak"}) {
    auto info = files::inspect(path);
    REQUIRE(info.has_value());
    CHECK(info->mode == 0640);
    if (root) CHECK(info->uid == 999);
    if (root) CHECK(info->gid == 999);
  }
}

TEST_CASE("run: a symlinked nodes.conf is rewritten through the link, which stays a link") {
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  std::string real = dir.file("real-nodes.conf");
  std::string original = readData("nodes_conf/redis-7.0-created-master.conf");
  REQUIRE(files::writeAtomically(real, original));
  REQUIRE(files::writeAtomically(dir.file("dump.rdb"), "REDIS0010"));
  REQUIRE(::symlink(real.c_str(), c.nodes_conf.c_str()) == 0);
  auto r = prepare::run(c, resolver);
  REQUIRE(r.has_value());
  CHECK(r->outcome == prepare::Outcome::Rewritten);
  auto link = files::inspect(c.nodes_conf);
  REQUIRE(link.has_value());
  CHECK(link->symlink);
  CHECK(*files::read(real) != original);
  CHECK(*files::read(c.nodes_conf + ".bak") == original);
}

TEST_CASE("run: a symlinked nodes.conf made by another user is refused, nothing changes") {
  // Followed as root, a link another user (Redis' own, say) planted would let that user have
  // prepare overwrite any file on the node.
  if (::geteuid() != 0) return;  // only root can give a link another owner
  TempDir dir;
  FakeResolver resolver;
  auto c = prepareConfig(dir);
  std::string real = dir.file("real-nodes.conf");
  std::string original = readData("nodes_conf/redis-7.0-created-master.conf");
  REQUIRE(files::writeAtomically(real, original));
  REQUIRE(files::writeAtomically(dir.file("dump.rdb"), "REDIS0010"));
  REQUIRE(::symlink(real.c_str(), c.nodes_conf.c_str()) == 0);
  REQUIRE(::lchown(c.nodes_conf.c_str(), 4321, 4321) == 0);
  auto r = prepare::run(c, resolver);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Refused);
  CHECK(r.error().message.find("symbolic link made by uid 4321") != std::string::npos);
  CHECK(r.error().message.find("nothing was changed") != std::string::npos);
  auto link = files::inspect(c.nodes_conf);
  REQUIRE(link.has_value());
  CHECK(link->symlink);
  CHECK(link->link_owner == 4321);
  CHECK(*files::read(real) == original);
  CHECK(files::inspect(c.nodes_conf + ".bak")->type == files::FileInfo::Type::Missing);
}
