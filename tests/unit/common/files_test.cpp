// SPDX-License-Identifier: Apache-2.0
#include "common/files.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

using namespace agent;
namespace fs = std::filesystem;

namespace {
std::string tempDir() {
  std::string tmpl = (fs::temp_directory_path() / "rca-files-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}
}  // namespace

TEST_CASE("writeAtomically replaces the file and leaves no temp file") {
  std::string dir = tempDir();
  std::string path = dir + "/f.conf";
  REQUIRE(files::writeAtomically(path, "one\n"));
  REQUIRE(files::writeAtomically(path, "two\n", 0600));
  CHECK(*files::read(path) == "two\n");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);
  fs::remove_all(dir);
}

TEST_CASE("writeAtomically into a missing directory fails and creates nothing") {
  std::string dir = tempDir();
  auto st = files::writeAtomically(dir + "/missing/f.conf", "x");
  CHECK_FALSE(st);
  CHECK(st.error().code == Errc::Io);
  fs::remove_all(dir);
}

TEST_CASE("read reports a missing file as NotFound") {
  auto r = files::read("/nonexistent/rca/file");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::NotFound);
}

TEST_CASE("dirName") {
  CHECK(files::dirName("/data/nodes.conf") == "/data");
  CHECK(files::dirName("nodes.conf") == ".");
  CHECK(files::dirName("/nodes.conf") == "/");
}

TEST_CASE("remove deletes a file, accepts one already gone, and reports a real failure") {
  std::string dir = tempDir();
  std::string path = dir + "/record";
  REQUIRE(files::writeAtomically(path, "x\n"));
  CHECK(files::remove(path));
  CHECK_FALSE(files::exists(path));
  CHECK(files::remove(path));  // already gone: nothing to do
  fs::create_directory(dir + "/sub");
  fs::create_directory(dir + "/sub/full");
  auto st = files::remove(dir + "/sub/full");  // unlink() refuses a directory
  CHECK_FALSE(st);
  CHECK(fs::exists(dir + "/sub/full"));
  fs::remove_all(dir);
}

TEST_CASE("read refuses what is not a regular file, and more than its cap, without blocking") {
  std::string dir = tempDir();
  std::string fifo = dir + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto r = files::read(fifo);  // would wait for a writer forever without O_NONBLOCK
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Errc::Invalid);
  CHECK(r.error().message.find("FIFO") != std::string::npos);
  CHECK_FALSE(files::read(dir).has_value());

  std::string big = dir + "/big";
  REQUIRE(files::writeAtomically(big, std::string(3 * 1024 * 1024, 'x')));
  auto capped = files::read(big, 2 * 1024 * 1024);
  REQUIRE_FALSE(capped.has_value());
  CHECK(capped.error().message.find("larger than 2 MiB") != std::string::npos);
  CHECK(files::read(big, 3 * 1024 * 1024)->size() == 3 * 1024 * 1024);
  fs::remove_all(dir);
}

TEST_CASE("writeAtomicallyLike keeps the mode (and, as root, the owner) of the original") {
  std::string dir = tempDir();
  std::string path = dir + "/f";
  REQUIRE(files::writeAtomically(path, "old", 0604));
  bool root = ::geteuid() == 0;
  if (root) REQUIRE(::chown(path.c_str(), 999, 998) == 0);
  auto like = files::inspect(path);
  REQUIRE(like.has_value());
  bool kept = false;
  REQUIRE(files::writeAtomicallyLike(path, "new", *like, &kept));
  auto now = files::inspect(path);
  CHECK(*files::read(path) == "new");
  CHECK(now->mode == 0604);
  CHECK(kept == root);
  if (root) CHECK((now->uid == 999 && now->gid == 998));
  fs::remove_all(dir);
}
