// SPDX-License-Identifier: Apache-2.0
#include "watch/dir_watcher.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "common/files.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::TempDir;

namespace {

// Collects the names the watcher reports, and lets the test wait for the next one.
class Recorder {
 public:
  void add(const std::string& name) {
    {
      std::lock_guard lock(mu_);
      names_.push_back(name);
    }
    cv_.notify_all();
  }
  // Waits up to 2 s for at least `n` reports.
  std::vector<std::string> waitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(2), [&] { return names_.size() >= n; });
    return names_;
  }
  std::vector<std::string> now() {
    std::lock_guard lock(mu_);
    return names_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> names_;
};

std::unique_ptr<watch::DirWatcher> startOn(const TempDir& dir, Recorder& rec) {
  auto w = watch::DirWatcher::start(dir.path(), {"nodes.conf"},
                                    [&rec](const std::string& name) { rec.add(name); });
  REQUIRE(w.has_value());
  return std::move(*w);
}

// Redis <= 7.0: open the existing file, write, truncate, close - same inode.
void rewriteInPlace(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  REQUIRE(::ftruncate(fd, static_cast<off_t>(text.size())) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("an in-place rewrite (Redis 7.0) is reported") {
  TempDir dir;
  rewriteInPlace(dir.file("nodes.conf"), "old\n");
  Recorder rec;
  auto w = startOn(dir, rec);
  rewriteInPlace(dir.file("nodes.conf"), "new contents\n");
  CHECK(rec.waitFor(1) == std::vector<std::string>{"nodes.conf"});
  CHECK(w->active());
}

TEST_CASE("a replace by rename (Redis 7.2+) is reported, the temp file is not") {
  TempDir dir;
  rewriteInPlace(dir.file("nodes.conf"), "old\n");
  Recorder rec;
  auto w = startOn(dir, rec);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(files::writeAtomically(dir.file("nodes.conf"), "v" + std::to_string(i) + "\n"));
  }
  auto names = rec.waitFor(3);
  CHECK(names == std::vector<std::string>(3, "nodes.conf"));
}

TEST_CASE("other files in the directory are ignored") {
  TempDir dir;
  Recorder rec;
  auto w = startOn(dir, rec);
  REQUIRE(files::writeAtomically(dir.file("nodes.ordinals"), "x\n"));
  rewriteInPlace(dir.file("appendonly.aof"), "x\n");
  rewriteInPlace(dir.file("nodes.conf"), "marker\n");
  // The marker arrives after the others were (not) reported: events come in order.
  CHECK(rec.waitFor(1) == std::vector<std::string>{"nodes.conf"});
}

TEST_CASE("removal is reported; losing the directory makes the watcher inactive") {
  TempDir dir;
  std::string sub = dir.file("data");
  std::filesystem::create_directory(sub);
  rewriteInPlace(sub + "/nodes.conf", "x\n");
  Recorder rec;
  auto w = watch::DirWatcher::start(sub, {"nodes.conf"},
                                    [&rec](const std::string& name) { rec.add(name); });
  REQUIRE(w.has_value());
  std::filesystem::remove_all(sub);
  CHECK(rec.waitFor(1) == std::vector<std::string>{"nodes.conf"});
  for (int i = 0; i < 200 && (*w)->active(); ++i) usleep(10000);
  CHECK_FALSE((*w)->active());
}

TEST_CASE("a missing directory is NotFound") {
  TempDir dir;
  auto w = watch::DirWatcher::start(dir.file("nope"), {"nodes.conf"}, [](const std::string&) {});
  REQUIRE_FALSE(w.has_value());
  CHECK(w.error().code == Errc::NotFound);
}

TEST_CASE("destroying the watcher stops its thread promptly") {
  TempDir dir;
  Recorder rec;
  auto begin = std::chrono::steady_clock::now();
  { auto w = startOn(dir, rec); }
  CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(1));
  rewriteInPlace(dir.file("nodes.conf"), "after\n");
  usleep(50000);
  CHECK(rec.now().empty());
}
