// SPDX-License-Identifier: Apache-2.0
#include "config/shape.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "config/config.h"

using namespace agent;
using namespace agent::config;

namespace {

std::string writeTemp(const std::string& text) {
  char path[] = "/tmp/shape_test_XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("a shape file names nodes and replicas, with comments and YAML quoting") {
  auto s = parseShape("# the chart's cluster.nodes\nnodes: 8\nreplicas: \"1\"\n\n");
  REQUIRE(s.has_value());
  CHECK(s->nodes == 8);
  CHECK(s->replicas == 1);
  CHECK(s->masters() == 4);
  CHECK(describeShape(*s) == "8 nodes, 1 replica(s) per master (4 masters)");
}

TEST_CASE("a bad shape file is refused with the reason") {
  auto why = [](const char* text) {
    auto s = parseShape(text);
    REQUIRE_FALSE(s.has_value());
    return s.error().message;
  };
  CHECK(why("nodes: 8\n").find("both 'nodes' and 'replicas' are required") != std::string::npos);
  CHECK(why("nodes: 8\nreplicas: one\n").find("'replicas' needs a whole number") !=
        std::string::npos);
  CHECK(why("nodes: 8\nreplicas: 1\nshards: 4\n").find("unknown key 'shards'") !=
        std::string::npos);
  CHECK(why("nodes: 8\nnodes: 6\nreplicas: 1\n").find("given twice") != std::string::npos);
  CHECK(why("nodes: 4\nreplicas: 1\n").find("fewer than 3 masters") != std::string::npos);
  CHECK(why("nodes 8\n").find("is not 'key: value'") != std::string::npos);
  CHECK(why("").find("required") != std::string::npos);
}

TEST_CASE(
    "the shape file overrides --cluster-nodes/--cluster-replicas; the flags stand without it") {
  std::string path = writeTemp("nodes: 9\nreplicas: 2\n");
  std::vector<std::string> env = {"POD_NAME=redis-0",
                                  "AGENT_PEER_HOST_TEMPLATE=redis-{ordinal}.svc"};
  auto c = parse({"agent", "run", "--cluster-nodes", "6", "--shape-file", path}, env);
  REQUIRE(c.has_value());
  CHECK(c->cluster_nodes == 9);
  CHECK(c->cluster_replicas == 2);
  CHECK(c->peerHosts().size() == 9);
  std::ofstream(path) << "nodes: lots\n";
  c = parse({"agent", "run", "--cluster-nodes", "6", "--shape-file", path}, env);
  REQUIRE(c.has_value());
  CHECK(c->cluster_nodes == 6);  // a bad file leaves the flags (run logs why)
  ::unlink(path.c_str());
  c = parse({"agent", "run", "--cluster-nodes", "12", "--shape-file", path}, env);
  REQUIRE(c.has_value());
  CHECK(c->cluster_nodes == 12);
  auto missing = readShapeFile(path);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == Errc::NotFound);
}
