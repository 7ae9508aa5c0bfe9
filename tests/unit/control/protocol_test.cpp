// SPDX-License-Identifier: Apache-2.0
#include "control/protocol.h"

#include <doctest/doctest.h>

using namespace agent;
using namespace agent::control;

TEST_CASE("a handover request round-trips") {
  std::string line = renderRequest({20000});
  CHECK(line == "handover timeout_ms=20000\n");
  auto parsed = parseRequest(line.substr(0, line.size() - 1));
  REQUIRE(parsed.has_value());
  CHECK(parsed->timeout_ms == 20000);
}

TEST_CASE("anything else is not a request") {
  for (const char* bad :
       {"", "handover", "takeover timeout_ms=1", "handover timeout_ms=", "handover timeout_ms=-5",
        "handover timeout_ms=10 extra", "handover timeout=10"}) {
    CAPTURE(bad);
    auto r = parseRequest(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Errc::Invalid);
  }
}

TEST_CASE("answer lines carry their kind and one line of text") {
  CHECK(renderLine(LineKind::Step, "a\nb") == "step a b\n");
  CHECK(renderLine(LineKind::Done, "ok") == "done ok\n");
  auto line = parseLine("skipped this node is a replica\n");
  REQUIRE(line.has_value());
  CHECK(line->kind == LineKind::Skipped);
  CHECK(line->text == "this node is a replica");
  CHECK(line->final());
  CHECK_FALSE(parseLine("step x")->final());
  CHECK(parseLine("failed")->kind == LineKind::Failed);
  CHECK_FALSE(parseLine("hello world").has_value());
}
