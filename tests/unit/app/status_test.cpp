// SPDX-License-Identifier: Apache-2.0
#include "app/status.h"

#include <doctest/doctest.h>

#include "common/text.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::snapshotFixture;

namespace {

cluster::PeerProbe answering(int ordinal, const std::string& ip, const std::string& fixture) {
  cluster::PeerProbe p;
  p.ordinal = ordinal;
  p.name = "redis-" + std::to_string(ordinal) + ".redis-headless.svc";
  p.ip = ip;
  p.snapshot = snapshotFixture(fixture);
  p.node_id = p.snapshot->myId();
  p.server = redis::serverInfoFrom(p.snapshot->info);
  return p;
}

// redis-0: master .10; redis-1: its replica .14; redis-2: master .11, which does not answer.
std::vector<cluster::PeerProbe> pods() {
  std::vector<cluster::PeerProbe> v{answering(0, "127.158.0.10", "master"),
                                    answering(1, "127.158.0.14", "replica")};
  cluster::PeerProbe down;
  down.ordinal = 2;
  down.name = "redis-2.redis-headless.svc";
  down.ip = "127.158.0.11";
  down.error = fail(Errc::Transport, "127.158.0.11:6379: Connection refused");
  v.push_back(down);
  return v;
}

std::vector<std::string> words(const std::string& table, const std::string& pod) {
  for (auto line : text::splitLines(table)) {
    if (text::startsWith(line, pod + " ")) {
      std::vector<std::string> out;
      for (auto w : text::splitWords(line)) out.emplace_back(w);
      return out;
    }
  }
  FAIL("no row for " << pod);
  return {};
}

}  // namespace

TEST_CASE("the table shows every pod, the silent one as its peers see it") {
  auto p = pods();
  auto health = cluster::assess(p, 1);
  REQUIRE_FALSE(health.healthy);
  std::string table = app::renderStatusTable(p, health);
  CHECK(text::startsWith(table,
                         "2 of 3 pods answer; 2 report cluster_state ok; fewest slots ok "
                         "in any view: 16384 of 16384\n"));
  CHECK(words(table, "POD") == std::vector<std::string>{"POD", "NODE", "ADDRESS", "ROLE", "MASTER",
                                                        "SLOTS", "LINK", "FLAGS", "LAG", "SERVER"});
  auto master = words(table, "redis-0");
  CHECK(master == std::vector<std::string>{"redis-0", "042928d5", "127.158.0.10:6379", "master",
                                           "-", "0-5460", "-", "-", "-", "redis:7.0.15"});
  auto replica = words(table, "redis-1");
  CHECK(replica[3] == "replica");
  CHECK(replica[4] == "redis-0");
  CHECK(replica[6] == "up");
  CHECK(text::parseInt(replica[8]).has_value());
  auto silent = words(table, "redis-2");
  CHECK(silent[1] == "a4a63d5a");
  CHECK(silent[3] == "master");
  CHECK(silent[5] == "5461-10922");
  CHECK(silent[6] == "unreachable");
  CHECK(silent[9] == "-");  // its server was never read
  CHECK(table.find("Connection refused") != std::string::npos);
  CHECK(table.find("Cluster is NOT healthy:\n  - redis-2 (127.158.0.11) does not answer") !=
        std::string::npos);
}

TEST_CASE("flags other pods attach to a node are shown on its row") {
  auto p = pods();
  // redis-0's view flags the silent redis-2 as failing.
  std::string nodes = agent::testing::readData("probes/master.cluster-nodes");
  std::string from = "127.158.0.11:6379@16379 master";
  nodes.replace(nodes.find(from), from.size(), from + ",fail?");
  p[0].snapshot =
      *cluster::snapshotFromText(agent::testing::readData("probes/master.info"),
                                 agent::testing::readData("probes/master.cluster-info"), nodes);
  auto silent = words(app::renderStatusTable(p, cluster::assess(p, 1)), "redis-2");
  CHECK(silent[7] == "fail?");
}

TEST_CASE("JSON carries the same rows and a summary") {
  auto p = pods();
  std::string json = app::renderStatusJson(p, cluster::assess(p, 1));
  CHECK(text::startsWith(json,
                         "{\"healthy\":false,\"summary\":{\"pods\":3,\"answering\":2,"
                         "\"clusterStateOk\":2,\"minSlotsOk\":16384},\"problems\":[\""));
  CHECK(json.find("{\"ordinal\":2,\"pod\":\"redis-2\",\"ip\":\"127.158.0.11\",\"nodeId\":\"\","
                  "\"role\":\"master\",\"master\":\"-\",\"slots\":\"5461-10922\",\"link\":"
                  "\"unreachable\",\"flags\":\"-\",\"lagBytes\":null,\"error\":\"127.158.0.11:"
                  "6379: Connection refused\",\"server\":null,\"openSlots\":[]}") !=
        std::string::npos);
  CHECK(json.find("\"server\":{\"name\":\"redis\",\"version\":\"7.0.15\",\"redisVersion\":"
                  "\"7.0.15\"}") != std::string::npos);
  CHECK(json.back() == '\n');
}

TEST_CASE("status names every node's rotation phase only while a rotation runs") {
  CHECK(app::renderRotationLine({{"redis-0", "done"}, {"redis-1", "unknown"}}).empty());
  CHECK(app::renderRotationLine({}).empty());
  CHECK(app::renderRotationLine({{"redis-0", "switched"}, {"redis-1", "accepting"}}) ==
        "Password rotation under way: redis-0 switched; redis-1 accepting\n");
}

TEST_CASE("status warns about old servers, mixed servers and replicas behind newer masters") {
  auto p = pods();
  CHECK(app::versionWarnings(p).empty());
  p[0].server = redis::ServerInfo{"valkey", "8.0.1", "7.2.4"};  // redis-1 (7.0) follows it
  p[2].server = redis::ServerInfo{"redis", "5.0.1", "5.0.1"};
  auto w = app::versionWarnings(p);
  REQUIRE(w.size() == 3);
  CHECK(w[0].find("redis-2: Redis 5.0.1 is not supported") == 0);
  CHECK(w[1] ==
        "the pods run different servers: redis:5.0.1 (redis-2), redis:7.0.15 (redis-1), "
        "valkey:8.0.1 (redis-0); the agent never makes an older node follow a newer master");
  CHECK(w[2].find("a replica follows a newer master: redis-1 (redis 7.0.15) cannot follow "
                  "redis-0 (valkey 8.0.1)") == 0);
  auto row = words(app::renderStatusTable(p, cluster::assess(p, 1)), "redis-0");
  CHECK(row.back() == "valkey:8.0.1");
}

TEST_CASE("open slots are listed per pod, in the table and in --json") {
  auto p = pods();
  std::string nodes = agent::testing::readData("probes/master.cluster-nodes");
  nodes.replace(nodes.find("connected 0-5460"), 16,
                "connected 0-5460 [7->-a4a63d5a3b66ffa7654c6f86239468d947eb457d]");
  p[0].snapshot = *cluster::snapshotFromText("", "cluster_state:ok\r\n", nodes);
  auto health = cluster::assess(p, 1);
  CHECK(app::renderStatusTable(p, health).find("redis-0 migrating 7 to a4a63d5a") !=
        std::string::npos);
  CHECK(app::renderStatusJson(p, health).find(
            R"("openSlots":[{"slot":7,"direction":"migrating","nodeId":"a4a63d5a)") !=
        std::string::npos);
  CHECK(app::renderOpenSlots(pods()).empty());
}

TEST_CASE("slots of a gone pod's failed master with no replica left are stranded") {
  auto p = pods();
  // redis-2 (master a4a63d5a, 5461-10922) was deleted with its replica (.15): both flagged fail.
  p[2].ip.clear();
  p[2].error = fail(Errc::NotFound, "redis-2.redis-headless.svc does not resolve");
  std::string nodes = agent::testing::readData("probes/master.cluster-nodes");
  nodes.replace(nodes.find("127.158.0.11:6379@16379 master"), 30,
                "127.158.0.11:6379@16379 master,fail");
  nodes.replace(nodes.find("127.158.0.15:6379@16379 slave"), 29,
                "127.158.0.15:6379@16379 slave,fail");
  p[0].snapshot = *cluster::snapshotFromText("", "cluster_state:ok\r\n", nodes);
  config::Config c;
  c.cluster_nodes = 3;
  nodes_conf::OrdinalMap map;
  map.set("a4a63d5a3b66ffa7654c6f86239468d947eb457d", 2, true);
  auto stranded = app::strandedStatus(c, p, &map);
  REQUIRE(stranded.size() == 1);
  CHECK(stranded[0].pod == "redis-2");
  CHECK(stranded[0].slotCount() == 5462);
  auto json = app::renderStatusJson(p, cluster::assess(p, 1), nullptr, &stranded);
  CHECK(
      json.find(
          R"("stranded":[{"nodeId":"a4a63d5a3b66ffa7654c6f86239468d947eb457d","pod":"redis-2","ordinal":2,"slots":5462)") !=
      std::string::npos);
  // Without the map (status outside the agent's container) the node is still reported.
  auto unnamed = app::strandedStatus(c, p, nullptr);
  REQUIRE(unnamed.size() == 1);
  CHECK(unnamed[0].pod.empty());
}
