// SPDX-License-Identifier: Apache-2.0
#include "metrics/exporter.h"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "common/counters.h"
#include "common/files.h"
#include "common/text.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::snapshotFixture;
using agent::testing::TempDir;

namespace {

metrics::Identity identity() {
  return {"0.1.0", "abc123", 3, 6, 1, false, 1700000000000};
}

state::StateView viewOf(const std::string& fixture) {
  state::StateView v;
  v.passes = 5;
  v.updated_unix_ms = 1700000001500;
  v.pass_ms = 12;
  v.redis_reachable = true;
  v.local = snapshotFixture(fixture);
  v.phase = state::Phase::Running;
  v.readiness = {probes::pass("redis-ping"), probes::softFail("replication", "down")};
  v.watching = true;
  v.nodes_conf_changes = 4;
  return v;
}

// "name{labels}" (labels as printed) -> value; HELP/TYPE lines dropped.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> out;
  for (auto line : text::splitLines(text)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    out[std::string(line.substr(0, sp))] = std::stod(std::string(line.substr(sp + 1)));
  }
  return out;
}

const char* P = "redis_cluster_agent_";

double at(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(P + key);
  REQUIRE_MESSAGE(it != m.end(), "missing " << P << key);
  return it->second;
}

bool has(const std::map<std::string, double>& m, const std::string& key) {
  return m.count(P + key) > 0;
}

// `promtool check metrics` on the text: its exit code and what it printed.
std::pair<int, std::string> promtool(const std::string& text) {
  const char* promtool = std::getenv("PROMTOOL");
  REQUIRE_MESSAGE(
      promtool != nullptr,
      "promtool not found at configure time: install prometheus (scripts/install-deps.sh)");
  TempDir dir;
  REQUIRE(files::writeAtomically(dir.file("metrics.txt"), text));
  std::string cmd = std::string(promtool) + " check metrics < " + dir.file("metrics.txt") + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE("a replica's metrics") {
  metrics::Exporter exp(identity());
  auto v = viewOf("replica");
  v.master_repl_offset = v.local->info.integerOr("slave_repl_offset", 0) + 1234;
  auto m = parse(exp.render(v));
  CHECK(at(m, "node_role{role=\"slave\"}") == 1);
  CHECK(at(m, "node_role{role=\"master\"}") == 0);
  CHECK(at(m, "node_slots") == 0);
  CHECK(at(m, "replication_link_up") == 1);
  CHECK(at(m, "replication_sync_in_progress") == 0);
  CHECK(at(m, "replication_lag_bytes") == 1234);
  CHECK(at(m, "cluster_state") == 1);
  CHECK(at(m, "cluster_slots_ok") == 16384);
  CHECK(at(m, "cluster_size") == 3);
  CHECK(at(m, "cluster_known_nodes") == 6);
  CHECK(at(m, "cluster_healthy_nodes") == 6);
  CHECK(at(m, "cluster_masters_without_replicas") == 0);
  CHECK(at(m, "ready") == 0);
  CHECK(at(m, "readiness_check{check=\"replication\"}") == 0);
  CHECK(at(m, "phase{phase=\"running\"}") == 1);
  CHECK(at(m, "phase{phase=\"bootstrapping\"}") == 0);
  CHECK(at(m, "nodes_conf_changes_total") == 4);
  CHECK(at(m, "last_pass_timestamp_seconds") == doctest::Approx(1700000001.5));
}

TEST_CASE("a master's metrics: its slots, epoch, replicas") {
  metrics::Exporter exp(identity());
  auto m = parse(exp.render(viewOf("master")));
  CHECK(at(m, "node_role{role=\"master\"}") == 1);
  CHECK(at(m, "node_slots") == 5461);
  CHECK(at(m, "node_config_epoch") == 1);
  CHECK(at(m, "replication_connected_replicas") == 1);
  CHECK_FALSE(has(m, "replication_link_up"));
  CHECK_FALSE(has(m, "replication_lag_bytes"));
}

TEST_CASE("a failed master, a noaddr peer and a lonely master are counted") {
  metrics::Exporter exp(identity());
  auto failed = parse(exp.render(viewOf("replica-of-failed-master")));
  CHECK(at(failed, "cluster_state") == 0);
  CHECK(at(failed, "cluster_slots_fail") == 5461);
  CHECK(at(failed, "cluster_nodes_flagged{flag=\"fail\"}") == 1);
  CHECK(at(failed, "cluster_nodes_flagged{flag=\"disconnected\"}") == 1);
  CHECK(at(failed, "cluster_healthy_nodes") == 6);
  auto noaddr = parse(exp.render(viewOf("noaddr-peer")));
  CHECK(at(noaddr, "cluster_nodes_flagged{flag=\"noaddr\"}") == 1);
  CHECK(at(noaddr, "cluster_nodes_flagged{flag=\"pfail\"}") == 0);
  // The replica of master a4a63d5a (127.158.0.15) failing leaves that master alone.
  auto v = viewOf("replica-of-failed-master");
  std::string nodes = agent::testing::readData("probes/replica-of-failed-master.cluster-nodes");
  nodes.replace(nodes.find("@16379 slave"), 12, "@16379 slave,fail");
  v.local = *cluster::snapshotFromText("", "cluster_state:fail\n", nodes);
  CHECK(at(parse(exp.render(v)), "cluster_masters_without_replicas") == 1);
}

TEST_CASE("while Redis is down or loading, only what is known is exported") {
  metrics::Exporter exp(identity());
  state::StateView down;
  auto m = parse(exp.render(down));
  CHECK(at(m, "redis_up") == 0);
  CHECK(at(m, "ready") == 0);
  CHECK_FALSE(has(m, "cluster_state"));
  CHECK_FALSE(has(m, "redis_loading"));
  auto loading = viewOf("loading");
  auto l = parse(exp.render(loading));
  CHECK(at(l, "redis_loading") == 1);
  CHECK(at(l, "redis_loading_progress_ratio") == doctest::Approx(0.0262));
  CHECK(at(l, "redis_loading_eta_seconds") == 1);
  CHECK_FALSE(has(l, "cluster_state"));
}

TEST_CASE("actions and errors: every kind at 0 until counted, prepare's rewrites added") {
  metrics::Exporter exp(identity());
  auto v = viewOf("master");
  v.actions[Action::Meet] = 5;
  v.actions[Action::NodeTimeoutShorten] = 2;
  v.errors[ErrorKind::CommandFailed] = 1;
  v.prepare = {2, 7};
  auto m = parse(exp.render(v));
  CHECK(at(m, "actions_total{action=\"meet\"}") == 5);
  CHECK(at(m, "actions_total{action=\"forget\"}") == 0);
  CHECK(at(m, "actions_total{action=\"failover\"}") == 0);
  CHECK(at(m, "actions_total{action=\"node_timeout_shorten\"}") == 2);
  CHECK(at(m, "actions_total{action=\"nodes_conf_rewrite\"}") == 2);
  CHECK(at(m, "errors_total{kind=\"command_failed\"}") == 1);
  CHECK(at(m, "errors_total{kind=\"redis_unreachable\"}") == 0);
  CHECK(at(m, "prepare_addresses_rewritten_total") == 7);
}

TEST_CASE("fixed metrics: build, configuration, identity") {
  metrics::Exporter exp(identity());
  std::string text = exp.render(viewOf("master"));
  auto m = parse(text);
  CHECK(at(m, "expected_nodes") == 6);
  CHECK(at(m, "expected_replicas") == 1);
  CHECK(at(m, "observe_mode") == 0);
  CHECK(at(m, "start_time_seconds") == 1700000000);
  CHECK(text.find("redis_cluster_agent_build_info{compiler=\"") != std::string::npos);
  CHECK(text.find("revision=\"abc123\",version=\"0.1.0\"} 1") != std::string::npos);
  CHECK(text.find("node_info{node_id=\"042928d59b4fbffa76a59262d2e95b94002689bd\",ordinal=\"3\","
                  "redis_version=\"7.0.15\"} 1") != std::string::npos);
}

TEST_CASE("every state passes promtool check metrics without a warning") {
  metrics::Exporter exp(identity());
  std::vector<state::StateView> views{state::StateView{}};
  for (const char* f : {"master", "replica", "loading", "fresh", "replica-syncing",
                        "replica-of-failed-master", "noaddr-peer"}) {
    views.push_back(viewOf(f));
  }
  views.back().actions[Action::Meet] = 1;
  for (const auto& v : views) {
    auto [rc, out] = promtool(exp.render(v));
    CHECK_MESSAGE(rc == 0, out);
    CHECK_MESSAGE(out.empty(), out);
  }
}

TEST_CASE("one family per name, and every name carries the one prefix") {
  metrics::Exporter exp(identity());
  std::string text = exp.render(viewOf("replica"));
  std::map<std::string, int> types;
  for (auto line : text::splitLines(text)) {
    if (text::startsWith(line, "# TYPE ")) types[std::string(text::splitWords(line)[2])]++;
    if (!line.empty() && line[0] != '#') CHECK(text::startsWith(line, "redis_cluster_agent_"));
  }
  CHECK(types.size() > 30);
  for (const auto& [name, n] : types) CHECK_MESSAGE(n == 1, name);
}

TEST_CASE("a published view is rendered once; the next view is rendered anew") {
  metrics::Exporter exp(identity());
  auto first = std::make_shared<const state::StateView>(viewOf("master"));
  std::string text = exp.render(first);
  CHECK(text == exp.render(*first));
  CHECK(exp.render(first) == text);
  auto next = std::make_shared<state::StateView>(viewOf("master"));
  next->nodes_conf_changes = 99;
  std::shared_ptr<const state::StateView> published = next;
  CHECK(parse(exp.render(published)).at("redis_cluster_agent_nodes_conf_changes_total") == 99);
  // A view that died and one born at its address are told apart.
  first.reset();
  auto third = std::make_shared<const state::StateView>(viewOf("replica"));
  CHECK(parse(exp.render(third)).at("redis_cluster_agent_node_role{role=\"slave\"}") == 1);
}

TEST_CASE("every action and error kind has its own name and a series at 0 from the start") {
  metrics::Exporter exp(identity());
  auto m = parse(exp.render(state::StateView{}));
  std::set<std::string_view> names;
  for (Action a : allKinds<Action>()) {
    auto name = kindName(a);
    CHECK_FALSE(name.empty());
    CHECK(names.insert(name).second);
    CHECK(kindFromName<Action>(name) == a);
    CHECK(at(m, "actions_total{action=\"" + std::string(name) + "\"}") == 0);
  }
  for (ErrorKind e : allKinds<ErrorKind>()) {
    auto name = kindName(e);
    CHECK_FALSE(name.empty());
    CHECK(names.insert(name).second);
    CHECK(kindFromName<ErrorKind>(name) == e);
    CHECK(at(m, "errors_total{kind=\"" + std::string(name) + "\"}") == 0);
  }
  // The ones the exporter used to miss until their first event.
  CHECK(has(m, "actions_total{action=\"node_timeout_restore\"}"));
  CHECK(has(m, "errors_total{kind=\"handover_client_install\"}"));
  auto [rc, out] = promtool(exp.render(state::StateView{}));
  CHECK_MESSAGE(rc == 0, out);
}

TEST_CASE("counters add by kind") {
  Activity activity;
  activity.actions.add(Action::Meet);
  activity.actions.add(Action::Meet, 2);
  activity.errors.add(ErrorKind::HandoverFailed);
  CHECK(activity.actions.get(Action::Meet) == 3);
  CHECK(activity.actions.values()[Action::Meet] == 3);
  CHECK(activity.actions.values()[Action::Forget] == 0);
  CHECK(activity.errors.values()[ErrorKind::HandoverFailed] == 1);
}

TEST_CASE("the local server's name and version, and the phase of an unsupported one") {
  auto v = viewOf("master");
  v.server = redis::ServerInfo{"valkey", "8.0.1", "7.2.4"};
  auto m = parse(metrics::Exporter(identity()).render(v));
  CHECK(at(m, "server_info{server=\"valkey\",version=\"8.0.1\"}") == 1);
  v.server = redis::ServerInfo{"redis", "5.0.1", "5.0.1"};
  v.phase = state::Phase::Unsupported;
  m = parse(metrics::Exporter(identity()).render(v));
  CHECK(at(m, "server_info{server=\"redis\",version=\"5.0.1\"}") == 1);
  CHECK(at(m, "phase{phase=\"unsupported_server\"}") == 1);
  CHECK(at(m, "errors_total{kind=\"unsupported_server\"}") == 0);
  CHECK(at(m, "errors_total{kind=\"older_replica_refused\"}") == 0);
  // Absent until the server answered INFO.
  v.server.reset();
  for (const auto& [key, value] : parse(metrics::Exporter(identity()).render(v))) {
    CHECK(key.find("server_info") == std::string::npos);
  }
}

namespace {

// The row of docs/metrics.md's table that documents `metric`.
std::string docRow(const std::string& doc, const std::string& metric) {
  auto at = doc.find("\n| `" + metric + "` |");
  if (at == std::string::npos) return {};
  return doc.substr(at + 1, doc.find('\n', at + 1) - at - 1);
}

template <class Kind>
void checkEveryKindDocumented(const std::string& doc, const std::string& metric) {
  std::string row = docRow(doc, metric);
  REQUIRE_MESSAGE(!row.empty(), "docs/metrics.md has no row for " << metric);
  for (Kind k : allKinds<Kind>()) {
    std::string name = "`" + std::string(kindName(k)) + "`";
    CHECK_MESSAGE(row.find(name) != std::string::npos,
                  "docs/metrics.md's " << metric << " row does not explain " << name);
  }
}

}  // namespace

TEST_CASE("docs/metrics.md explains every counter kind") {
  // tests/data/../../ is the source root.
  std::string doc = agent::testing::readData("../../docs/metrics.md");
  checkEveryKindDocumented<Action>(doc, "actions_total");
  checkEveryKindDocumented<ErrorKind>(doc, "errors_total");
}

TEST_CASE("open slots, keys and stranded slots") {
  metrics::Exporter exp(identity());
  auto quiet = parse(exp.render(viewOf("master")));
  CHECK(at(quiet, "node_open_slots{direction=\"migrating\"}") == 0);
  CHECK(at(quiet, "node_open_slots{direction=\"importing\"}") == 0);
  CHECK(at(quiet, "stranded_slots") == 0);
  CHECK(has(quiet, "node_keys"));

  auto v = viewOf("master");
  std::string nodes = agent::testing::readData("probes/master.cluster-nodes");
  const std::string other = "a4a63d5a3b66ffa7654c6f86239468d947eb457d";
  nodes.replace(nodes.find("connected 0-5460"), 16,
                "connected 0-5460 [7->-" + other + "] [9->-" + other + "] [6000-<-" + other + "]");
  v.local = *cluster::snapshotFromText("db0:keys=42,expires=0,avg_ttl=0\r\n", "", nodes);
  v.local->keys = 42;
  cluster::Stranded s{"b" + std::string(39, '0'), 6, "redis-6", "gone", {{12288, 16383}}, 8};
  v.stranded = {s};
  std::string text = exp.render(v);
  auto m = parse(text);
  CHECK(at(m, "node_open_slots{direction=\"migrating\"}") == 2);
  CHECK(at(m, "node_open_slots{direction=\"importing\"}") == 1);
  CHECK(at(m, "node_open_slot{slot=\"7\",direction=\"migrating\",peer_node_id=\"" + other +
                  "\"}") == 1);
  CHECK(at(m, "node_open_slot{slot=\"6000\",direction=\"importing\",peer_node_id=\"" + other +
                  "\"}") == 1);
  CHECK(at(m, "node_keys") == 42);
  CHECK(at(m, "stranded_slots") == 4096);
  CHECK(at(m, "stranded_master_slots{gone_pod=\"redis-6\",node_id=\"" + s.node_id +
                  "\",scale_to=\"8\"}") == 4096);
  auto [rc, out] = promtool(text);
  CHECK_MESSAGE(rc == 0, out);
}

TEST_CASE("a scale in progress: the shape, slots to move and moved, rate and ETA") {
  metrics::Exporter exp(identity());
  auto v = viewOf("master");
  v.reshape.shape_nodes = 8;
  v.reshape.shape_replicas = 1;
  v.reshape.now.target_masters = 4;
  auto quiet = parse(exp.render(v));
  CHECK(at(quiet, "shape_nodes") == 8);
  CHECK(at(quiet, "shape_replicas") == 1);
  CHECK(at(quiet, "shape_masters") == 4);
  CHECK(at(quiet, "scale_slots_to_move") == 0);
  CHECK_FALSE(has(quiet, "scale_eta_seconds"));  // no scale, no rate
  CHECK_FALSE(has(quiet, "scale_slots_per_second"));

  v.reshape.now.slots_to_move = 3072;
  v.reshape.progress.to_move = 3072;
  v.reshape.progress.at_start = 4096;
  v.reshape.progress.moved = 1024;
  v.reshape.progress.slots_per_second = 102.4;
  v.reshape.progress.eta_s = 30;
  std::string text = exp.render(v);
  auto m = parse(text);
  CHECK(at(m, "scale_slots_to_move") == 3072);
  CHECK(at(m, "scale_slots_moved") == 1024);
  CHECK(at(m, "scale_slots_per_second") == doctest::Approx(102.4));
  CHECK(at(m, "scale_eta_seconds") == 30);
  auto [rc, out] = promtool(text);
  CHECK_MESSAGE(rc == 0, out);
}
