// SPDX-License-Identifier: Apache-2.0
// The one-way forms of a password, the include's password lines and the record of accepted
// passwords.
#include <doctest/doctest.h>

#include "auth/hash.h"
#include "auth/include_file.h"
#include "auth/record.h"
#include "common/files.h"
#include "support/fixtures.h"

using namespace agent;
using agent::testing::TempDir;

TEST_CASE("sha256Hex is Redis' ACL form of a password") {
  // echo -n foobar | sha256sum; ACL SETUSER u >foobar lists this hash.
  CHECK(auth::sha256Hex("foobar") ==
        "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
  CHECK(auth::isSha256Hex(auth::sha256Hex("")));
}

TEST_CASE("PBKDF2-HMAC-SHA256 matches the published test vectors") {
  // RFC 7914, section 11 ("passwd", "salt", c = 1), first 32 bytes, and the common c = 2 vector.
  CHECK(auth::pbkdf2Sha256Hex("password", "salt", 1, 32) ==
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  CHECK(auth::pbkdf2Sha256Hex("password", "salt", 2, 32) ==
        "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43");
}

TEST_CASE("a fingerprint says same or different, per cluster, and never shows the password") {
  auto a = auth::fingerprint("s3cret", "redis-{ordinal}.a");
  CHECK(a.size() == 16);
  CHECK(a == auth::fingerprint("s3cret", "redis-{ordinal}.a"));
  CHECK(a != auth::fingerprint("s3cret2", "redis-{ordinal}.a"));
  CHECK(a != auth::fingerprint("s3cret", "redis-{ordinal}.b"));
  CHECK(auth::sha256Hex("s3cret").find(a) == std::string::npos);
}

TEST_CASE("the include's password lines round-trip any byte and keep every other line") {
  std::string pw = "a \"b\" \\c\nd\x01 'e'";
  std::string text = "# header\ncluster-announce-ip 10.0.0.1\nrequirepass old\nmasterauth old\n";
  auto out = auth::withIncludeAuth(text, {pw, pw});
  CHECK(out.find("cluster-announce-ip 10.0.0.1\n") != std::string::npos);
  CHECK(out.find("# header\n") == 0);
  CHECK(out.find("old") == std::string::npos);
  auto back = auth::readIncludeAuth(out);
  CHECK(back.requirepass == pw);
  CHECK(back.masterauth == pw);
  // A value that is absent removes its line.
  auto none = auth::readIncludeAuth(auth::withIncludeAuth(text, {pw, std::nullopt}));
  CHECK(none.requirepass == pw);
  CHECK_FALSE(none.masterauth);
}

TEST_CASE("readIncludeAuth reads redis.conf's quoting and keeps the last line") {
  auto got = auth::readIncludeAuth(
      "requirepass first\nREQUIREPASS 'it\\'s'\nmasterauth \"x\\x41\\ty\"\n# masterauth no\n"
      "masterauth \"unclosed\n");
  CHECK(got.requirepass == "it's");
  CHECK(got.masterauth == "xA\ty");
}

TEST_CASE("the record of accepted passwords holds hashes only and refuses anything else") {
  TempDir dir;
  std::string nodes_conf = dir.file("nodes.conf");
  auto none = auth::loadAuthRecord(nodes_conf);
  REQUIRE(none);
  CHECK_FALSE(*none);

  auth::AuthRecord r;
  r.add(auth::sha256Hex("old"));
  r.add(auth::sha256Hex("new"));
  r.add(auth::sha256Hex("old"));
  CHECK(r.accepts.size() == 2);
  CHECK(r.rotatingTo(auth::sha256Hex("new")));
  CHECK_FALSE(auth::AuthRecord{{auth::sha256Hex("new")}}.rotatingTo(auth::sha256Hex("new")));
  REQUIRE(auth::saveAuthRecord(nodes_conf, r));
  auto text = files::read(dir.file("nodes.auth"));
  REQUIRE(text);
  CHECK(text->find("old") == std::string::npos);
  auto loaded = auth::loadAuthRecord(nodes_conf);
  REQUIRE(loaded);
  REQUIRE(*loaded);
  CHECK(**loaded == r);

  auto bad = auth::parseAuthRecord("accept plaintext-password\n");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("SHA-256") != std::string::npos);
}
