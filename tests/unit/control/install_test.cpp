// SPDX-License-Identifier: Apache-2.0
#include "control/install.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "common/files.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::TempDir;

namespace {

mode_t modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode;
}

}  // namespace

TEST_CASE("a missing runtime dir is created 0770, with its parents, whatever the umask") {
  TempDir dir;
  std::string runtime = dir.file("run/redis-cluster-agent");
  mode_t old = ::umask(077);
  Status made = control::ensureRuntimeDir(runtime);
  ::umask(old);
  REQUIRE(made);
  CHECK(S_ISDIR(modeOf(runtime)));
  CHECK((modeOf(runtime) & 07777) == 0770);
}

TEST_CASE("an existing runtime dir is left as it is; a file in its place is an error") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0750) == 0);
  REQUIRE(control::ensureRuntimeDir(dir.path()));
  CHECK((modeOf(dir.path()) & 07777) == 0750);
  REQUIRE(files::writeAtomically(dir.file("file"), "x"));
  Status st = control::ensureRuntimeDir(dir.file("file"));
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("not a directory") != std::string::npos);
}
