// SPDX-License-Identifier: Apache-2.0
// The local view's cache: a CLUSTER NODES reply that differs from the last one only in the
// ping/pong times shares the parsed view; any other change is parsed again.
#include "cluster/snapshot.h"

#include <doctest/doctest.h>

#include <string>

#include "support/fixtures.h"

using namespace agent;
using namespace agent::cluster;

namespace {

// Replaces the ping-sent and pong-received fields of every line with `ping` and `pong`.
std::string withTimes(const std::string& text, const std::string& ping, const std::string& pong) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    std::string rebuilt;
    int word = 0;
    size_t from = 0;
    for (size_t i = 0; i <= line.size(); ++i) {
      if (i < line.size() && line[i] != ' ') continue;
      std::string w = line.substr(from, i - from);
      if (word == 4) w = ping;
      if (word == 5) w = pong;
      rebuilt += (word == 0 ? "" : " ") + w;
      ++word;
      from = i + 1;
    }
    out += rebuilt + "\n";
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("an unchanged view but for ping/pong times is shared, any other change is parsed") {
  std::string nodes = testing::readData("probes/master.cluster-nodes");
  NodesCache cache;
  auto first = cache.parse(withTimes(nodes, "0", "1700000000000"));
  REQUIRE(first);
  auto again = cache.parse(withTimes(nodes, "1700000000999", "1700000001000"));
  REQUIRE(again);
  CHECK(again->get() == first->get());
  CHECK(cache.reused() == 1);

  std::string flagged = nodes;
  auto at = flagged.find("connected");
  REQUIRE(at != std::string::npos);
  flagged.replace(at, 9, "disconnected");
  auto changed = cache.parse(withTimes(flagged, "0", "1700000001000"));
  REQUIRE(changed);
  CHECK(changed->get() != first->get());
  CHECK(cache.reused() == 1);
  bool any_down = false;
  for (const auto& n : (*changed)->nodes()) any_down |= !n.isConnected();
  CHECK(any_down);
  CHECK_FALSE(cache.parse("not a CLUSTER NODES reply\n"));
}

TEST_CASE("a snapshot taken through the cache parses like one without it") {
  std::string info = testing::readData("probes/master.info");
  std::string cinfo = testing::readData("probes/master.cluster-info");
  std::string nodes = testing::readData("probes/master.cluster-nodes");
  NodesCache cache;
  auto with = snapshotFromText(info, cinfo, nodes, &cache);
  auto without = snapshotFromText(info, cinfo, nodes);
  REQUIRE(with);
  REQUIRE(without);
  CHECK(with->nodes->render() == without->nodes->render());
  CHECK(with->myId() == without->myId());
}
