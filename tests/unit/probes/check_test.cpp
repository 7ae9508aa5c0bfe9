// SPDX-License-Identifier: Apache-2.0
#include "probes/check.h"

#include <doctest/doctest.h>

#include "probes/lifecycle.h"

using namespace agent;
using probes::Check;

namespace {

const std::vector<Check> kPassing = {probes::pass("redis-ping"), probes::pass("replication")};
const std::vector<Check> kFailing = {probes::pass("redis-ping"),
                                     probes::softFail("replication", "link down for 3s")};

}  // namespace

TEST_CASE("passing checks answer a plain ok unless asked for details") {
  auto r = probes::render("readyz", kPassing, {});
  CHECK(r.status == 200);
  CHECK(r.body == "ok\n");
  auto v = probes::render("readyz", kPassing, {true, {}});
  CHECK(v.status == 200);
  CHECK(v.body == "[+]redis-ping ok\n[+]replication ok\nreadyz check passed\n");
}

TEST_CASE("a failing check is always listed with its reason") {
  auto r = probes::render("readyz", kFailing, {});
  CHECK(r.status == 503);
  CHECK(r.body ==
        "[+]redis-ping ok\n[-]replication failed: link down for 3s\nreadyz check failed\n");
}

TEST_CASE("excluded checks do not count; unknown names are reported") {
  auto quiet = probes::render("readyz", kFailing, {false, {"replication", "nope"}});
  CHECK(quiet.status == 200);
  CHECK(quiet.body == "ok\n");
  auto r = probes::render("readyz", kFailing, {true, {"replication", "nope"}});
  CHECK(r.status == 200);
  CHECK(r.body ==
        "[+]redis-ping ok\n[+]replication excluded: ok\nwarn: some health checks cannot be "
        "excluded: no matches for \"nope\"\nreadyz check passed\n");
}

TEST_CASE("no checks at all is not a pass") {
  // The agent always publishes checks; an empty list would mean a bug, not health.
  auto r = probes::render("readyz", {}, {});
  CHECK(r.status == 503);
  CHECK(r.body == "[-]checks failed: nothing was checked\nreadyz check failed\n");
}

TEST_CASE("query parameters") {
  auto q = probes::parseQuery({{"verbose", ""}, {"exclude", "a"}, {"exclude", "b"}, {"x", "1"}});
  CHECK(q.verbose);
  CHECK(q.exclude == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(probes::parseQuery({}).verbose);
}

TEST_CASE("liveness: the loop must finish a pass within the limit") {
  CHECK(probes::livenessLimitMs(1000) == 30000);
  CHECK(probes::livenessLimitMs(20000) == 60000);
  CHECK(probes::livenessChecks(1000, 31000, 30000)[0].ok);
  auto stuck = probes::livenessChecks(1000, 31001, 30000);
  CHECK_FALSE(stuck[0].ok);
  CHECK(stuck[0].name == "loop");
  CHECK(stuck[0].reason == "no pass of the agent's loop finished for 30001ms (limit 30000ms)");
}

TEST_CASE("startup: done after the first pass, whatever Redis said") {
  CHECK_FALSE(probes::startupChecks(0)[0].ok);
  CHECK(probes::startupChecks(1)[0].ok);
  CHECK(probes::startupChecks(1)[0].name == "first-pass");
}
