// SPDX-License-Identifier: Apache-2.0
// The rotation's pure part: a node's phase from what Redis reports, the /peerinfo report, and
// the planner's gates.
#include <doctest/doctest.h>

#include "auth/hash.h"
#include "auth/node_auth.h"
#include "auth/rotation.h"

using namespace agent;
using auth::Phase;
using auth::Step;

namespace {

redis::Reply bulk(std::string s) {
  return {redis::Reply::Type::String, std::move(s), 0, {}};
}

redis::Reply array(std::vector<redis::Reply> elements) {
  return {redis::Reply::Type::Array, {}, 0, std::move(elements)};
}

// ACL GETUSER default, Redis 7.0's shape (flags, passwords, commands, ...).
redis::Reply getuser(std::vector<std::string> hashes, bool nopass = false) {
  std::vector<redis::Reply> pw;
  for (auto& h : hashes) pw.push_back(bulk(h));
  std::vector<redis::Reply> flags{bulk("on")};
  if (nopass) flags.push_back(bulk("nopass"));
  return array(
      {bulk("flags"), array(flags), bulk("passwords"), array(pw), bulk("commands"), bulk("+@all")});
}

redis::Reply masterauth(std::string value) {
  return array({bulk("masterauth"), bulk(value)});
}

auth::NodeAuth node(std::vector<std::string> passwords, std::string ma) {
  std::vector<std::string> hashes;
  for (auto& p : passwords) hashes.push_back(auth::sha256Hex(p));
  auto n = auth::parseNodeAuth(getuser(hashes), masterauth(ma));
  REQUIRE(n);
  return *n;
}

auth::PodAuth pod(int ordinal, Phase phase, const std::string& target, bool accepts = true,
                  bool ma = true) {
  return {ordinal, "redis-" + std::to_string(ordinal), auth::Report{phase, target}, accepts, ma};
}

}  // namespace

TEST_CASE("a node's phase comes from its passwords and masterauth") {
  auto target = auth::sha256Hex("new");
  CHECK(auth::phaseOf(node({"old"}, "old"), target) == Phase::Pending);
  CHECK(auth::phaseOf(node({"old", "new"}, "old"), target) == Phase::Accepting);
  CHECK(auth::phaseOf(node({"old", "new"}, "new"), target) == Phase::Switched);
  CHECK(auth::phaseOf(node({"new"}, "new"), target) == Phase::Done);
  // Turning authentication on or off is no rotation.
  auto open = auth::parseNodeAuth(getuser({}, true), masterauth(""));
  REQUIRE(open);
  CHECK(open->nopass);
  CHECK_FALSE(open->masterauth);
  CHECK(auth::phaseOf(*open, target) == Phase::Unknown);
}

TEST_CASE("parseNodeAuth refuses what it cannot trust") {
  CHECK_FALSE(auth::parseNodeAuth(getuser({"not-a-hash"}), masterauth("x")));
  CHECK_FALSE(auth::parseNodeAuth(bulk("OK"), masterauth("x")));
  CHECK_FALSE(auth::parseNodeAuth(getuser({}), bulk("x")));
}

TEST_CASE("the /peerinfo report round-trips and is absent from older agents") {
  auth::Report r{Phase::Switched, "0123456789abcdef"};
  auto back = auth::parseReport("ordinal:1\n" + auth::renderReport(r));
  REQUIRE(back);
  CHECK(*back == r);
  CHECK_FALSE(auth::parseReport("ordinal:1\npod:redis-1\n"));
}

TEST_CASE("adding the new password needs no gate") {
  auth::Planner p(1000);
  auto d = p.decide(Phase::Pending, "fp", {pod(1, Phase::Done, "other")}, 0);
  CHECK(d.step == Step::AddTarget);
}

TEST_CASE("masterauth switches only once every pod accepts the new password") {
  auth::Planner p(1000);
  std::vector<auth::PodAuth> others{pod(1, Phase::Accepting, "fp"), pod(2, Phase::Pending, "fp")};
  auto d = p.decide(Phase::Accepting, "fp", others, 0);
  CHECK(d.step == Step::None);
  REQUIRE(d.waiting.size() == 1);
  CHECK(d.waiting[0] == "redis-2: reports pending");

  others[1] = pod(2, Phase::Accepting, "fp", false);  // the agent says so, its Redis does not
  CHECK(p.decide(Phase::Accepting, "fp", others, 0).step == Step::None);
  others[1] = pod(2, Phase::Accepting, "other");  // moving to another password
  CHECK(p.decide(Phase::Accepting, "fp", others, 0).step == Step::None);
  others[1].report.reset();  // its agent does not answer
  CHECK(p.decide(Phase::Accepting, "fp", others, 0).step == Step::None);
  others[1] = pod(2, Phase::Switched, "fp");
  CHECK(p.decide(Phase::Accepting, "fp", others, 0).step == Step::SwitchMasterauth);
}

TEST_CASE("the old password goes after every pod switched and the grace period held") {
  auth::Planner p(1000);
  std::vector<auth::PodAuth> others{pod(1, Phase::Switched, "fp"), pod(2, Phase::Done, "fp")};
  auto d = p.decide(Phase::Switched, "fp", others, 10'000);
  CHECK(d.step == Step::None);
  CHECK(d.grace_left_ms == 1000);
  CHECK(p.decide(Phase::Switched, "fp", others, 10'600).grace_left_ms == 400);
  // A pod whose masterauth is not the new one restarts the grace period.
  others[0].masterauth_target = false;
  CHECK(p.decide(Phase::Switched, "fp", others, 10'800).step == Step::None);
  others[0].masterauth_target = true;
  CHECK(p.decide(Phase::Switched, "fp", others, 10'900).grace_left_ms == 1000);
  CHECK(p.decide(Phase::Switched, "fp", others, 11'900).step == Step::DropOld);
}

TEST_CASE("a new target restarts the grace period") {
  auth::Planner p(1000);
  std::vector<auth::PodAuth> a{pod(1, Phase::Switched, "fp1")};
  std::vector<auth::PodAuth> b{pod(1, Phase::Switched, "fp2")};
  CHECK(p.decide(Phase::Switched, "fp1", a, 0).grace_left_ms == 1000);
  CHECK(p.decide(Phase::Switched, "fp2", b, 900).grace_left_ms == 1000);
}

TEST_CASE("an agent without a password never steps") {
  auth::Planner p(0);
  auto d = p.decide(Phase::Pending, "", {}, 0);
  CHECK(d.step == Step::None);
  CHECK_FALSE(d.waiting.empty());
}

TEST_CASE("step errors never carry the password") {
  std::vector<std::vector<std::string>> sent;
  auth::RunCommand run = [&](const std::vector<std::string>& args) -> Result<redis::Reply> {
    sent.push_back(args);
    return fail(Errc::Server, "ERR Error in ACL SETUSER modifier '" + args.back() + "'");
  };
  auto st = auth::addPassword(run, "hunter2-secret");
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("hunter2") == std::string::npos);
  CHECK(sent.back() == std::vector<std::string>{"ACL", "SETUSER", "default", ">hunter2-secret"});
  st = auth::setMasterauth(run, "hunter2-secret");
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("hunter2") == std::string::npos);
}
