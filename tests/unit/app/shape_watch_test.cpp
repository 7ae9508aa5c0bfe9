// SPDX-License-Identifier: Apache-2.0
#include "app/shape_watch.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>

using namespace agent;

namespace {

// Replaces the file by rename, as an update of a mounted volume does.
void writeShape(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  REQUIRE(std::rename((path + ".tmp").c_str(), path.c_str()) == 0);
}

// Polls until the watcher's event has arrived and `done` holds (the event is delivered on the
// watcher's thread), for at most 5 s; the last poll's answer.
template <class Done>
std::optional<config::Shape> pollUntil(app::ShapeWatch& watch, Done done) {
  std::optional<config::Shape> got;
  for (int i = 0; i < 500; ++i) {
    got = watch.poll();
    if (done(got)) break;
    ::usleep(10000);
  }
  return got;
}

}  // namespace

TEST_CASE("the shape file is followed: a change is returned once, a bad file keeps the last good") {
  char dir[] = "/tmp/shape_watch_XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/shape";
  writeShape(path, "nodes: 6\nreplicas: 1\n");
  app::ShapeWatch watch(path, {6, 1});
  CHECK_FALSE(watch.poll().has_value());  // what the agent started with

  writeShape(path, "nodes: 8\nreplicas: 1\n");
  auto changed = pollUntil(watch, [](const auto& got) { return got.has_value(); });
  REQUIRE(changed.has_value());
  CHECK(changed->nodes == 8);
  CHECK_FALSE(watch.poll().has_value());  // reported once

  writeShape(path, "nodes: 8\nreplicas: two\n");
  CHECK_FALSE(pollUntil(watch, [&](const auto& got) {
                return got.has_value() || !watch.error().empty();
              }).has_value());
  CHECK(watch.current().nodes == 8);
  CHECK(watch.error().find("'replicas' needs a whole number") != std::string::npos);

  writeShape(path, "nodes: 9\nreplicas: 2\n");
  changed = pollUntil(watch, [](const auto& got) { return got.has_value(); });
  REQUIRE(changed.has_value());
  CHECK(changed->replicas == 2);
  CHECK(watch.error().empty());
  watch.stop();
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_CASE("without a shape file nothing is followed") {
  app::ShapeWatch watch("", {6, 1});
  CHECK_FALSE(watch.poll().has_value());
  CHECK(watch.current().nodes == 6);
}
