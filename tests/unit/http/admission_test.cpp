// SPDX-License-Identifier: Apache-2.0
#include "http/admission.h"

#include <doctest/doctest.h>

using namespace agent::http;

namespace {

std::vector<OpenConnection> fromOne(const std::string& client, size_t n, Phase phase,
                                    uint64_t first_id = 1) {
  std::vector<OpenConnection> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back({first_id + i, client, static_cast<int64_t>(first_id + i), phase});
  }
  return out;
}

}  // namespace

TEST_CASE("below the limits every connection is admitted and none closed") {
  auto open = fromOne("10.0.0.1", 3, Phase::Reading);
  auto a = admit(open, "10.0.0.1", {10, 4});
  CHECK(a.admit);
  CHECK(a.close.empty());
}

TEST_CASE("a client at its limit displaces its own oldest waiting connection") {
  auto open = fromOne("10.0.0.1", 4, Phase::Reading);
  auto other = fromOne("10.0.0.2", 2, Phase::Reading, 100);
  open.insert(open.begin(), other.begin(), other.end());  // older, but another client's
  auto a = admit(open, "10.0.0.1", {100, 4});
  CHECK(a.admit);
  CHECK(a.close == std::vector<uint64_t>{1});
}

TEST_CASE("answered (draining) connections go before waiting ones, waiting before writing") {
  std::vector<OpenConnection> open = {{1, "c", 1, Phase::Writing},
                                      {2, "c", 2, Phase::Reading},
                                      {3, "c", 3, Phase::Draining},
                                      {4, "c", 4, Phase::Working}};
  CHECK(admit(open, "c", {100, 4}).close == std::vector<uint64_t>{3});
  open.erase(open.begin() + 2);
  open.push_back({5, "c", 5, Phase::Reading});
  CHECK(admit(open, "c", {100, 4}).close == std::vector<uint64_t>{2});
}

TEST_CASE("a client whose connections are all being answered gets no more") {
  auto open = fromOne("c", 4, Phase::Working);
  auto a = admit(open, "c", {100, 4});
  CHECK_FALSE(a.admit);
}

TEST_CASE("a full table gives up the oldest connection of the client holding the most") {
  auto open = fromOne("heavy", 6, Phase::Reading, 10);
  auto light = fromOne("light", 2, Phase::Reading, 1);  // older than every heavy one
  open.insert(open.end(), light.begin(), light.end());
  auto a = admit(open, "newcomer", {8, 16});
  CHECK(a.admit);
  CHECK(a.close == std::vector<uint64_t>{10});
}

TEST_CASE("at both limits two connections make room, never the same one twice") {
  auto open = fromOne("c", 4, Phase::Reading, 1);
  auto b = fromOne("b", 4, Phase::Reading, 10);
  open.insert(open.end(), b.begin(), b.end());
  auto a = admit(open, "c", {7, 4});
  CHECK(a.admit);
  CHECK(a.close == std::vector<uint64_t>{1, 10});
}
