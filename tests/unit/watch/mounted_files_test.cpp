// SPDX-License-Identifier: Apache-2.0
#include "watch/mounted_files.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/files.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::TempDir;

namespace {

// What the kubelet does to a Secret volume (atomic_writer.go): the new contents in a fresh
// hidden directory, a temporary symlink to it renamed over `..data`.
void kubeletUpdate(const TempDir& dir, const std::string& stamp, const std::string& password) {
  std::filesystem::create_directory(dir.file(stamp));
  REQUIRE(files::writeAtomically(dir.file(stamp + "/password"), password));
  std::filesystem::create_symlink(stamp, dir.file("..data_tmp"));
  REQUIRE(std::rename(dir.file("..data_tmp").c_str(), dir.file("..data").c_str()) == 0);
  if (!std::filesystem::is_symlink(dir.file("password"))) {
    std::filesystem::create_symlink("..data/password", dir.file("password"));
  }
}

bool waitFor(const std::function<bool()>& ok) {
  for (int i = 0; i < 200 && !ok(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return ok();
}

}  // namespace

TEST_CASE("a Secret volume's ..data swap is seen as a change of the mounted file") {
  TempDir dir;
  kubeletUpdate(dir, "..2026_01_01_00_00_00.1", "old");
  std::atomic<int> woken{0};
  watch::MountedFiles files({dir.file("password")}, [&] { woken.fetch_add(1); });
  CHECK(files.generation() == 0);
  REQUIRE(files.ensure());
  CHECK(files.active());
  uint64_t started = files.generation();
  CHECK(started == 1);  // a starting watcher counts one: the file may have changed unwatched

  kubeletUpdate(dir, "..2026_01_01_00_01_00.2", "new");
  CHECK(waitFor([&] { return files.generation() > started && woken.load() > 0; }));
  CHECK(*files::read(dir.file("password")) == "new");

  files.stop();
  CHECK_FALSE(files.active());
}

TEST_CASE("a plain file replaced by rename is seen too") {
  TempDir dir;
  REQUIRE(files::writeAtomically(dir.file("password"), "old"));
  watch::MountedFiles files({dir.file("password")}, nullptr);
  REQUIRE(files.ensure());
  uint64_t started = files.generation();
  REQUIRE(files::writeAtomically(dir.file("password"), "new"));
  CHECK(waitFor([&] { return files.generation() > started; }));
}
