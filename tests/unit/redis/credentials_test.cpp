// SPDX-License-Identifier: Apache-2.0
#include "redis/credentials.h"

#include <doctest/doctest.h>

using namespace agent;

TEST_CASE("credentials try the password that worked last first, without duplicates") {
  redis::Credentials c;
  CHECK(c.empty());
  c.set({"new", "old", "", "new", "older"});
  CHECK(c.candidates() == std::vector<std::string>{"new", "old", "older"});
  c.worked("old");
  CHECK(c.candidates() == std::vector<std::string>{"old", "new", "older"});
  c.set({"new"});  // the rotation ended: the old password is gone from every new connection
  CHECK(c.candidates() == std::vector<std::string>{"new"});
  CHECK(redis::Credentials(std::nullopt).empty());
}

TEST_CASE("only a refused password makes another worth trying") {
  CHECK(redis::isPasswordRefused(
      fail(Errc::Server, "WRONGPASS invalid username-password pair or user is disabled.")));
  CHECK(redis::isPasswordRefused(fail(Errc::Server, "ERR invalid password")));
  CHECK_FALSE(redis::isPasswordRefused(fail(Errc::Transport, "WRONGPASS")));
  CHECK_FALSE(redis::isPasswordRefused(fail(Errc::Server, "LOADING Redis is loading")));
}
