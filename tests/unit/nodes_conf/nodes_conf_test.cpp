// SPDX-License-Identifier: Apache-2.0
#include "nodes_conf/nodes_conf.h"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "common/files.h"
#include "common/text.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::listData;
using agent::testing::readData;

namespace {

std::vector<std::string> goodFixtures() {
  std::vector<std::string> out;
  for (const auto& name : listData("nodes_conf")) {
    if (name.size() > 5 && name.substr(name.size() - 5) == ".conf") out.push_back(name);
  }
  return out;
}

nodes_conf::NodesConf load(const std::string& name) {
  auto conf = nodes_conf::parse(readData("nodes_conf/" + name));
  REQUIRE_MESSAGE(conf.has_value(), name, ": ", conf.has_value() ? "" : conf.error().message);
  return std::move(*conf);
}

// Splits a node line into fields, and the address field into its host and the rest, so two
// renderings can be compared field by field.
struct LineFields {
  std::vector<std::string> fields;
  std::string host;
  std::string address_rest;
};

LineFields fieldsOf(std::string_view line) {
  LineFields lf;
  for (auto w : text::splitWords(line)) lf.fields.emplace_back(w);
  if (lf.fields.size() > 1 && lf.fields[0] != "vars") {
    auto addr = nodes_conf::parseNodeLine(line);
    REQUIRE(addr.has_value());
    lf.host = addr->address.host;
    lf.address_rest = addr->address.render().substr(addr->address.host.size());
    lf.fields[1] = "<address>";
  }
  return lf;
}

}  // namespace

TEST_CASE("every fixture round-trips byte for byte") {
  auto names = goodFixtures();
  REQUIRE(names.size() >= 14);
  for (const auto& name : names) {
    CAPTURE(name);
    std::string text = readData("nodes_conf/" + name);
    auto conf = load(name);
    CHECK(conf.render() == text);
  }
}

TEST_CASE("a rewrite changes only host parts (field-wise diff)") {
  for (const auto& name : goodFixtures()) {
    CAPTURE(name);
    std::string before = readData("nodes_conf/" + name);
    auto conf = load(name);
    for (size_t i = 0; i < conf.nodes().size(); ++i) {
      conf.setHost(i, i % 2 ? "fd00::99:" + std::to_string(i) : "10.99.0." + std::to_string(i));
    }
    std::string after = conf.render();
    auto lines_before = text::split(before, '\n');
    auto lines_after = text::split(after, '\n');
    REQUIRE(lines_before.size() == lines_after.size());
    for (size_t l = 0; l < lines_before.size(); ++l) {
      auto fb = fieldsOf(lines_before[l]);
      auto fa = fieldsOf(lines_after[l]);
      CHECK(fb.fields == fa.fields);
      CHECK(fb.address_rest == fa.address_rest);
    }
    auto reparsed = nodes_conf::parse(after);
    REQUIRE(reparsed.has_value());
    for (size_t i = 0; i < conf.nodes().size(); ++i) {
      CHECK(reparsed->nodes()[i].address.host == conf.nodes()[i].address.host);
      CHECK(reparsed->nodes()[i].address.hostname == load(name).nodes()[i].address.hostname);
    }
  }
}

TEST_CASE("Redis 7.0.15 fixtures from a live cluster") {
  SUBCASE("fresh node: empty IP and zero ports") {
    auto conf = load("redis-7.0-fresh.conf");
    REQUIRE(conf.nodes().size() == 1);
    const auto& me = conf.myself();
    CHECK(me.address.host.empty());
    CHECK(me.address.port() == 0);
    CHECK(me.address.busPort() == 0);
    CHECK(me.isMaster());
    CHECK(conf.vars().get("currentEpoch") == 0u);
  }
  SUBCASE("after create: three masters with redis-cli's slot ranges") {
    auto conf = load("redis-7.0-created-master.conf");
    CHECK(conf.nodes().size() == 6);
    CHECK(conf.myself().slots == std::vector<nodes_conf::SlotRange>{{0, 5460}});
    int masters = 0;
    int slots = 0;
    for (const auto& n : conf.nodes()) {
      if (n.isMaster()) ++masters;
      slots += n.slotCount();
    }
    CHECK(masters == 3);
    CHECK(slots == nodes_conf::kSlotCount);
    CHECK(conf.vars().get("currentEpoch") == 6u);
  }
  SUBCASE("after a failover: myself is a replica with its master's epoch") {
    auto conf = load("redis-7.0-after-failover.conf");
    CHECK(conf.myself().isReplica());
    const auto* master = conf.find(conf.myself().master_id);
    REQUIRE(master != nullptr);
    CHECK(master->config_epoch == conf.myself().config_epoch);
  }
  SUBCASE("migrating and importing slots") {
    auto mig = load("redis-7.0-migrating.conf");
    REQUIRE(mig.myself().open_slots.size() == 1);
    CHECK(mig.myself().open_slots[0].slot == 5461);
    CHECK(mig.myself().open_slots[0].migrating);
    auto imp = load("redis-7.0-importing.conf");
    REQUIRE(imp.myself().open_slots.size() == 1);
    CHECK_FALSE(imp.myself().open_slots[0].migrating);
    CHECK(imp.myself().open_slots[0].node_id == mig.myself().id);
  }
}

namespace {

std::vector<std::string> valkey80Fixtures() {
  std::vector<std::string> out;
  for (const auto& name : goodFixtures()) {
    if (name.rfind("valkey-8.0-", 0) == 0) out.push_back(name);
  }
  return out;
}

// The ordinal encoded in a recorded address: the last IPv4 octet (11 is ordinal 0), or the port
// offset for the IPv6 cluster that runs every node on ::1.
int ordinalOf(const nodes_conf::Node& n) {
  const auto& a = n.address;
  if (a.host == "::1") return a.port() % 10;
  return std::stoi(a.host.substr(a.host.rfind('.') + 1)) - 11;
}

// `line` with the host at the start of its address field replaced: the only bytes a rewrite
// may change.
std::string withHost(std::string_view line, std::string_view old_host, std::string_view host) {
  auto words = text::splitWords(line);
  size_t at = static_cast<size_t>(words[1].data() - line.data());
  REQUIRE(line.substr(at, old_host.size()) == old_host);
  return std::string(line.substr(0, at)) + std::string(host) +
         std::string(line.substr(at + old_host.size()));
}

}  // namespace

TEST_CASE("Valkey 8.0.1 fixtures from live clusters") {
  REQUIRE(valkey80Fixtures().size() == 11);
  SUBCASE("no warnings; every replica carries its primary's shard-id, every shard its own") {
    for (const auto& name : valkey80Fixtures()) {
      CAPTURE(name);
      auto conf = load(name);
      CHECK(conf.warnings().empty());
      std::set<std::string> master_shards;
      for (const auto& n : conf.nodes()) {
        auto shard = n.address.auxValue("shard-id");
        REQUIRE(shard.has_value());
        CHECK(nodes_conf::isValidNodeId(*shard));
        CHECK(n.address.auxValue("tls-port").has_value());  // written even when 0
        if (n.isMaster()) CHECK(master_shards.insert(*shard).second);
        if (const auto* primary = conf.find(n.master_id)) {
          CHECK(primary->address.auxValue("shard-id") == shard);
        }
      }
    }
  }
  SUBCASE("fresh node: no IP yet, but the ports and a shard-id are already there") {
    auto conf = load("valkey-8.0-fresh.conf");
    REQUIRE(conf.nodes().size() == 1);
    const auto& a = conf.myself().address;
    CHECK(a.host.empty());
    CHECK(a.port() == 6379);  // Redis 7.0 writes :0@0 here
    CHECK(a.busPort() == 16379);
    CHECK(a.hostname.empty());
    CHECK(a.aux.size() == 2);
    CHECK(conf.vars().get("currentEpoch") == 0u);
  }
  SUBCASE("after create: master and replica, written with the words master and slave") {
    auto master = load("valkey-8.0-created-master.conf");
    CHECK(master.myself().isMaster());
    CHECK(master.myself().hasFlag("master"));
    CHECK(master.myself().slots == std::vector<nodes_conf::SlotRange>{{0, 5460}});
    int slots = 0;
    for (const auto& n : master.nodes()) slots += n.slotCount();
    CHECK(slots == nodes_conf::kSlotCount);
    auto replica = load("valkey-8.0-created-replica.conf");
    CHECK(replica.myself().hasFlag("slave"));
    CHECK(replica.myself().isReplica());
    CHECK(replica.myself().slots.empty());
  }
  SUBCASE("after a failover: myself is a replica with its new primary's epoch") {
    auto conf = load("valkey-8.0-after-failover.conf");
    CHECK(conf.myself().isReplica());
    const auto* primary = conf.find(conf.myself().master_id);
    REQUIRE(primary != nullptr);
    CHECK(primary->config_epoch == conf.myself().config_epoch);
    CHECK(primary->slots == std::vector<nodes_conf::SlotRange>{{0, 5460}});
  }
  SUBCASE("migrating and importing; Valkey 8 also gives the replica the open slot") {
    auto mig = load("valkey-8.0-migrating.conf");
    auto imp = load("valkey-8.0-importing.conf");
    auto rep = load("valkey-8.0-migrating-replica.conf");
    REQUIRE(mig.myself().open_slots.size() == 1);
    CHECK(mig.myself().open_slots[0].slot == 5461);
    CHECK(mig.myself().open_slots[0].migrating);
    CHECK(mig.myself().open_slots[0].node_id == imp.myself().id);
    REQUIRE(imp.myself().open_slots.size() == 1);
    CHECK_FALSE(imp.myself().open_slots[0].migrating);
    CHECK(imp.myself().open_slots[0].node_id == mig.myself().id);
    CHECK(rep.myself().isReplica());
    CHECK(rep.myself().master_id == mig.myself().id);
    REQUIRE(rep.myself().open_slots.size() == 1);
    CHECK(rep.myself().open_slots[0].migrating);
    CHECK(rep.myself().slots.empty());
  }
  SUBCASE("hostname and human nodename: aux order tls-port, nodename, shard-id") {
    auto conf = load("valkey-8.0-hostname.conf");
    for (const auto& n : conf.nodes()) {
      std::string pod = "redis-" + std::to_string(ordinalOf(n));
      CHECK(n.address.hostname == pod + ".redis-headless.default.svc.cluster.local");
      REQUIRE(n.address.aux.size() == 3);
      CHECK(n.address.aux[0].first == "tls-port");
      CHECK(n.address.aux[1] == std::pair<std::string, std::string>{"nodename", pod});
      CHECK(n.address.aux[2].first == "shard-id");
    }
  }
  SUBCASE("client-ipv6 and client-ipv4 come first, only where announced") {
    auto conf = load("valkey-8.0-client-ip.conf");
    for (const auto& n : conf.nodes()) {
      int ord = ordinalOf(n);
      CAPTURE(ord);
      CHECK(n.address.auxValue("client-ipv4") == "203.0.113." + std::to_string(11 + ord));
      if (ord < 3) {
        CHECK(n.address.aux[0] == std::pair<std::string, std::string>{
                                      "client-ipv6", "2001:db8::" + std::to_string(11 + ord)});
        CHECK(n.address.aux[1].first == "client-ipv4");
      } else {
        CHECK_FALSE(n.address.auxValue("client-ipv6"));
        CHECK(n.address.aux[0].first == "client-ipv4");
      }
    }
  }
  SUBCASE("IPv6: written without brackets, split at the last colon") {
    auto conf = load("valkey-8.0-ipv6.conf");
    const auto& a = conf.myself().address;
    CHECK(a.host == "::1");
    CHECK(a.busPort() == a.port() + 10000);
    CHECK(a.endpoint() == "[::1]:" + a.port_text);
  }
  SUBCASE("TLS only: the address carries the plaintext port 0, tls-port the real one") {
    auto conf = load("valkey-8.0-tls.conf");
    for (const auto& n : conf.nodes()) {
      CHECK(n.address.port() == 0);
      CHECK(n.address.busPort() == 16379);
      CHECK(n.address.auxValue("tls-port") == "6379");
      CHECK_FALSE(n.address.auxValue("tcp-port"));
    }
  }
}

TEST_CASE("Valkey 8.0: a rewrite changes the host bytes and nothing else") {
  for (const auto& name : valkey80Fixtures()) {
    CAPTURE(name);
    std::string before = readData("nodes_conf/" + name);
    auto original = load(name);
    auto conf = load(name);
    std::vector<std::string> hosts;
    for (size_t i = 0; i < conf.nodes().size(); ++i) {
      hosts.push_back(i % 2 ? "fd00:10:244::" + std::to_string(i)
                            : "10.244.1." + std::to_string(i));
      conf.setHost(i, hosts.back());
    }
    std::string after = conf.render();
    auto lines_before = text::split(before, '\n');
    auto lines_after = text::split(after, '\n');
    REQUIRE(lines_before.size() == lines_after.size());
    size_t node = 0;
    for (size_t l = 0; l < lines_before.size(); ++l) {
      if (lines_before[l].empty() || lines_before[l].rfind("vars ", 0) == 0) {
        CHECK(lines_after[l] == lines_before[l]);
        continue;
      }
      const auto& old_host = original.nodes()[node].address.host;
      CHECK(lines_after[l] == withHost(lines_before[l], old_host, hosts[node]));
      ++node;
    }
    auto reparsed = nodes_conf::parse(after);
    REQUIRE(reparsed.has_value());
    CHECK(reparsed->warnings().empty());
    for (size_t i = 0; i < original.nodes().size(); ++i) {
      const auto& was = original.nodes()[i].address;
      const auto& now = reparsed->nodes()[i].address;
      CHECK(now.host == hosts[i]);
      CHECK(now.aux == was.aux);  // shard-id, nodename, tls-port, client-ipv4/6: untouched
      CHECK(now.hostname == was.hostname);
      CHECK(now.port_text == was.port_text);
      CHECK(now.bus_text == was.bus_text);
    }
  }
}

TEST_CASE("Valkey 8 load-time flag words primary and replica are accepted and kept") {
  std::string text = readData("nodes_conf/valkey-8.0-created-replica.conf");
  std::string words;
  for (auto line : text::split(text, '\n')) {
    std::string l(line);
    using Words = std::pair<std::string_view, std::string_view>;
    for (auto [from, to] : {Words{" master ", " primary "}, Words{" slave ", " replica "},
                            Words{"myself,slave ", "myself,replica "}}) {
      if (auto at = l.find(from); at != std::string::npos) l.replace(at, from.size(), to);
    }
    words += l + "\n";
  }
  words.pop_back();  // split() left an empty last element
  auto conf = nodes_conf::parse(words);
  REQUIRE(conf.has_value());
  CHECK(conf->render() == words);
  CHECK(conf->myself().hasFlag("replica"));
  CHECK(conf->myself().isReplica());
  int primaries = 0;
  for (const auto& n : conf->nodes()) primaries += n.isMaster() ? 1 : 0;
  CHECK(primaries == 3);
}

TEST_CASE("a replica whose shard-id is not its primary's gets the primary's, nothing else") {
  const std::string shard = "1505d19365f6d6b06156f8ac8b5d488ad986c01d";
  const std::string primary =
      "e0949f1df29c239cbcee42dd1ae8a96ad9eb48a9 10.0.0.1:6379@16379,,tls-port=0,"
      "shard-id=" +
      shard + " myself,master - 0 0 2 connected 0-16383\n";
  auto replica = [](const std::string& aux) {
    return "c8c97f65a6214df918ae71a4b54465f4fd60e537 10.0.0.2:6379@16379,,tls-port=0" + aux +
           " slave e0949f1df29c239cbcee42dd1ae8a96ad9eb48a9 0 1 2 connected\n";
  };
  SUBCASE("another shard-id: only that value changes") {
    std::string text = primary + replica(",shard-id=0000000000000000000000000000000000000000");
    auto conf = nodes_conf::parse(text);
    REQUIRE(conf.has_value());
    CHECK(conf->render() == text);  // parsing alone changes nothing
    CHECK(conf->warnings().empty());
    auto repairs = conf->adoptPrimaryShardIds();
    REQUIRE(repairs.size() == 1);
    CHECK(repairs[0].replica_id == "c8c97f65a6214df918ae71a4b54465f4fd60e537");
    CHECK(repairs[0].had == "0000000000000000000000000000000000000000");
    CHECK(repairs[0].primary_id == "e0949f1df29c239cbcee42dd1ae8a96ad9eb48a9");
    CHECK(repairs[0].shard_id == shard);
    CHECK(conf->render() == primary + replica(",shard-id=" + shard));
    CHECK(conf->adoptPrimaryShardIds().empty());  // done once
  }
  SUBCASE("none while the primary has one: the primary's is added last") {
    auto conf = nodes_conf::parse(primary + replica(""));
    REQUIRE(conf.has_value());
    auto repairs = conf->adoptPrimaryShardIds();
    REQUIRE(repairs.size() == 1);
    CHECK(!repairs[0].had.has_value());
    CHECK(conf->render() == primary + replica(",shard-id=" + shard));
  }
  SUBCASE("a hostname and other aux fields stay in place, byte for byte") {
    std::string line =
        "c8c97f65a6214df918ae71a4b54465f4fd60e537 10.0.0.2:6379@16379,redis-3.example,tls-port=0,"
        "nodename=redis-3,shard-id=0000000000000000000000000000000000000000 slave "
        "e0949f1df29c239cbcee42dd1ae8a96ad9eb48a9 0 1 2 connected\n";
    auto conf = nodes_conf::parse(primary + line);
    REQUIRE(conf.has_value());
    REQUIRE(conf->adoptPrimaryShardIds().size() == 1);
    std::string want = line;
    want.replace(want.find("0000000000000000000000000000000000000000"), 40, shard);
    CHECK(conf->render() == primary + want);
  }
  SUBCASE("the same shard-id, or none anywhere (Redis 7.0): nothing to do") {
    auto same = nodes_conf::parse(primary + replica(",shard-id=" + shard));
    REQUIRE(same.has_value());
    CHECK(same->adoptPrimaryShardIds().empty());
    auto redis70 = load("redis-7.0-created-replica.conf");
    CHECK(redis70.adoptPrimaryShardIds().empty());
  }
}

TEST_CASE("hand-written formats from the facts document") {
  SUBCASE("7.0 hostname") {
    auto conf = load("redis-7.0-hostname.conf");
    CHECK(conf.myself().address.hostname == "redis-0.redis-headless.default.svc.cluster.local");
    CHECK(conf.myself().address.aux.empty());
  }
  SUBCASE("7.2 aux fields with an empty hostname") {
    auto conf = load("redis-7.2.conf");
    const auto& a = conf.myself().address;
    CHECK(a.hostname.empty());
    REQUIRE(a.aux.size() == 2);
    CHECK(a.aux[0] == std::pair<std::string, std::string>{"tls-port", "0"});
    CHECK(a.aux[1].first == "shard-id");
    CHECK(conf.warnings().empty());
  }
  SUBCASE("7.4 nodename, tcp-port and a migrating slot") {
    auto conf = load("redis-7.4.conf");
    CHECK(conf.nodes()[1].address.hostname == "redis-1.redis-headless.ns.svc.cluster.local");
    CHECK(conf.nodes()[1].address.aux[1].second == "redis-1");
    CHECK(conf.nodes()[2].open_slots.size() == 1);
    CHECK(conf.nodes()[0].address.port() == 6479);
    CHECK(conf.nodes()[0].address.busPort() == 16479);
  }
  SUBCASE("Valkey 8.0 client-ipv4/ipv6, replica and noflags") {
    auto conf = load("valkey-8.0.conf");
    const auto& a = conf.nodes()[1].address;
    CHECK(a.aux[0] == std::pair<std::string, std::string>{"client-ipv6", "2001:db8::12"});
    CHECK(conf.nodes()[4].isReplica());
    CHECK(conf.nodes()[5].hasFlag("noflags"));
    CHECK(conf.nodes()[3].hasFlag("nofailover"));
    CHECK(conf.warnings().empty());
  }
  SUBCASE("IPv6 hosts split at the last colon") {
    auto conf = load("redis-7.0-ipv6.conf");
    CHECK(conf.myself().address.host == "fd00::10");
    CHECK(conf.myself().address.port() == 6379);
    CHECK(conf.myself().address.endpoint() == "[fd00::10]:6379");
  }
  SUBCASE("noaddr peers and a peer with an empty IP") {
    auto conf = load("redis-7.0-noaddr.conf");
    CHECK(conf.nodes()[1].isNoaddr());
    CHECK(conf.nodes()[1].address.host.empty());
    CHECK(conf.nodes()[5].address.port() == 6379);
  }
  SUBCASE("6.2 fail? and fail flags") {
    auto conf = load("redis-6.2.conf");
    CHECK(conf.nodes()[1].isPfail());
    CHECK(conf.nodes()[5].isFailed());
    CHECK_FALSE(conf.nodes()[5].isConnected());
    CHECK(conf.vars().get("lastVoteEpoch") == 3u);
  }
  SUBCASE("files from before the bus port was written") {
    auto conf = load("redis-3.2-nobusport.conf");
    CHECK_FALSE(conf.myself().address.bus_text.has_value());
    CHECK(conf.myself().address.busPort() == 16379);
  }
  SUBCASE("padding newlines of an in-place rewrite are kept") {
    auto conf = load("redis-7.0-padded.conf");
    CHECK(conf.nodes().size() == 2);
    CHECK(conf.render() == readData("nodes_conf/redis-7.0-padded.conf"));
  }
}

TEST_CASE("unknown aux fields are kept and reported") {
  auto conf = nodes_conf::parse(
      "9cf576fba0863d31d333db12d523e7e4a8e58a52 10.0.0.1:6379@16379,,tls-port=0,future=1,"
      "shard-id=b724fb9351aee03f8cd43294e5f83ac74bafe875 myself,master - 0 0 1 connected\n");
  REQUIRE(conf.has_value());
  REQUIRE(conf->warnings().size() == 1);
  CHECK(conf->warnings()[0].find("future") != std::string::npos);
}

TEST_CASE("bad files fail with the line number and the reason") {
  struct Case {
    const char* file;
    const char* expected;
  };
  const Case cases[] = {
      {"empty.conf", "empty"},
      {"blank.conf", "empty"},
      {"no-myself.conf", "line 3: no 'myself' line"},
      {"unknown-flag.conf", "line 2: unknown flag 'leader'"},
      {"garbage.conf", "line 2:"},
      {"bad-slot.conf", "line 1: bad slot or slot range '0-16384'"},
      {"short-line.conf", "line 2: expected at least 8 fields"},
      {"two-myself.conf", "line 2: second 'myself' line"},
      {"bad-vars.conf", "line 2: the vars line needs name/value pairs"},
      {"truncated-id.conf", "line 1: '0867df78816f71b70ab706c84f78b583d472c5' is not a 40"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    auto conf = nodes_conf::parse(readData(std::string("nodes_conf/bad/") + c.file));
    REQUIRE_FALSE(conf.has_value());
    CHECK(conf.error().code == Errc::Invalid);
    CHECK_MESSAGE(conf.error().message.find(c.expected) != std::string::npos, conf.error().message);
  }
  CHECK(listData("nodes_conf/bad").size() == std::size(cases));
}

TEST_CASE("CLUSTER NODES output parses with the same grammar, without a vars line") {
  auto nodes = nodes_conf::parseClusterNodes(
      "0867df78816f71b70ab706c84f78b583d472c526 127.31.0.11:6379@16379 myself,master - 0 "
      "1795603889000 1 connected 0-16383\n");
  REQUIRE(nodes.has_value());
  CHECK(nodes->myself().slotCount() == nodes_conf::kSlotCount);
  CHECK_FALSE(nodes_conf::parseClusterNodes("vars currentEpoch 1 lastVoteEpoch 0\n"));
}

#if defined(__SANITIZE_THREAD__)
constexpr long kSanitizerFactor = 6;
#elif defined(__SANITIZE_ADDRESS__)
constexpr long kSanitizerFactor = 3;
#else
constexpr long kSanitizerFactor = 1;
#endif

// Issue 12, defect 6: 50 MB of blank lines cost > 2.4 GB when every line was an object (20 MB
// here: > 1 GB before). Parsed in a child process, whose peak RSS growth is its own.
TEST_CASE("20 MB of blank lines parse in memory of the order of the text, and round-trip") {
  std::string text = readData("nodes_conf/redis-7.0-created-master.conf");
  text.append(20 * 1024 * 1024, '\n');
  auto status_kb = [](const char* field) {
    std::string status = *files::read("/proc/self/status");
    size_t at = status.find(field);
    return std::stol(status.substr(at + std::string_view(field).size()));
  };
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    long before = status_kb("VmRSS:");
    auto conf = nodes_conf::parse(text);
    bool same = conf && conf->render() == text;
    long grown_mb = (status_kb("VmHWM:") - before) / 1024;
    // One joined copy, one rendered copy and a margin; the old parser needed > 1 GB (times
    // the same factor under a sanitizer: TSan's shadow is 4x, ASan keeps freed blocks a while).
    ::_exit(same && grown_mb < 200 * kSanitizerFactor ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
