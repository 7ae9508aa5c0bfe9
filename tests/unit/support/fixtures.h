// SPDX-License-Identifier: Apache-2.0
// Test helpers: fixture files under tests/data and per-test temporary directories.
#pragma once

#include <string>
#include <vector>

#include "cluster/snapshot.h"

namespace agent::testing {

// Path of a fixture under tests/data (TEST_DATA_DIR set by meson).
std::string dataPath(const std::string& relative);
std::string readData(const std::string& relative);
// What one Redis 7.0.15 node answered, recorded by tests/data/probes/generate_redis70.py:
// tests/data/probes/<name>.info, .cluster-info and .cluster-nodes.
cluster::Snapshot snapshotFixture(const std::string& name);

// Names of the files in a tests/data subdirectory, sorted.
std::vector<std::string> listData(const std::string& relative_dir);

// The error's message, or "" when `r` holds a value: for REQUIRE_MESSAGE, which builds its
// message even when the check passes (doctest -s).
template <typename T>
std::string errorText(const Result<T>& r) {
  return r.has_value() ? std::string() : r.error().message;
}

// A fresh directory removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace agent::testing
