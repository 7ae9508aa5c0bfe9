// SPDX-License-Identifier: Apache-2.0
#include "support/fixtures.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "common/files.h"

namespace agent::testing {

namespace fs = std::filesystem;

std::string dataPath(const std::string& relative) {
  const char* dir = std::getenv("TEST_DATA_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "TEST_DATA_DIR is not set (run through meson test)");
  return std::string(dir) + "/" + relative;
}

std::string readData(const std::string& relative) {
  auto text = files::read(dataPath(relative));
  REQUIRE_MESSAGE(text.has_value(), relative);
  return *text;
}

cluster::Snapshot snapshotFixture(const std::string& name) {
  std::string base = "probes/" + name;
  auto snap = cluster::snapshotFromText(readData(base + ".info"), readData(base + ".cluster-info"),
                                        readData(base + ".cluster-nodes"));
  REQUIRE_MESSAGE(snap.has_value(), name);
  return *snap;
}

std::vector<std::string> listData(const std::string& relative_dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dataPath(relative_dir))) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "rca-test-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace agent::testing
