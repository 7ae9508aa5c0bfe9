// SPDX-License-Identifier: Apache-2.0
#include "cluster/agent_info.h"

#include <doctest/doctest.h>

#include <string>

using namespace agent::cluster;

TEST_CASE("an agent's /peerinfo answer reads back as it was written, zone included") {
  AgentInfo in{3,       "redis-3", "redis-{}.redis-headless", std::string(40, 'a'), true,
               "k8s-b", "eu-1b"};
  auto out = parseAgentInfo(renderAgentInfo(in));
  REQUIRE(out);
  CHECK(out->ordinal == 3);
  CHECK(out->pod == "redis-3");
  CHECK(out->set == "redis-{}.redis-headless");
  CHECK(out->node_id == std::string(40, 'a'));
  CHECK(out->node_fresh);
  CHECK(out->k8s_node == "k8s-b");
  CHECK(out->zone == "eu-1b");
}

TEST_CASE("an answer without a zone line (an older agent) has no zone") {
  auto out = parseAgentInfo("nodeName:k8s-a\nordinal:1\npod:redis-1\n");
  REQUIRE(out);
  CHECK(out->k8s_node == "k8s-a");
  CHECK(out->zone.empty());
}

TEST_CASE("an answer that is not an agent's is refused") {
  CHECK_FALSE(parseAgentInfo("zone:eu-1a\nnodeName:k8s-a\n"));            // no ordinal
  CHECK_FALSE(parseAgentInfo("ordinal:redis\n"));                         // not a number
  CHECK_FALSE(parseAgentInfo(std::string(kMaxAgentInfoBytes + 1, 'x')));  // too long
}
