// SPDX-License-Identifier: Apache-2.0
#include "http/admission.h"

#include <algorithm>
#include <map>

namespace agent::http {

namespace {

// The connection to give up among those `pick` selects: lowest phase first, then the oldest.
template <class Pick>
const OpenConnection* victim(const std::vector<OpenConnection>& open,
                             const std::vector<uint64_t>& gone, Pick pick) {
  const OpenConnection* best = nullptr;
  for (const auto& c : open) {
    if (c.phase == Phase::Working || !pick(c)) continue;
    if (std::find(gone.begin(), gone.end(), c.id) != gone.end()) continue;
    if (best == nullptr || c.phase < best->phase ||
        (c.phase == best->phase && c.since_ms < best->since_ms)) {
      best = &c;
    }
  }
  return best;
}

// The address holding the most connections that can be given up.
std::string heaviestClient(const std::vector<OpenConnection>& open,
                           const std::vector<uint64_t>& gone) {
  std::map<std::string_view, size_t> held;
  for (const auto& c : open) {
    if (c.phase == Phase::Working) continue;
    if (std::find(gone.begin(), gone.end(), c.id) != gone.end()) continue;
    ++held[c.client];
  }
  auto most = std::max_element(held.begin(), held.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  return most == held.end() ? std::string() : std::string(most->first);
}

}  // namespace

Admission admit(const std::vector<OpenConnection>& open, std::string_view client,
                const ConnectionLimits& limits) {
  Admission out;
  size_t mine = static_cast<size_t>(
      std::count_if(open.begin(), open.end(), [&](const auto& c) { return c.client == client; }));
  if (mine >= limits.max_per_client) {
    const auto* v = victim(open, out.close, [&](const auto& c) { return c.client == client; });
    if (v == nullptr) return {false, {}};
    out.close.push_back(v->id);
  }
  if (open.size() - out.close.size() >= limits.max_total) {
    std::string heaviest = heaviestClient(open, out.close);
    const auto* v = victim(open, out.close, [&](const auto& c) { return c.client == heaviest; });
    if (v == nullptr) return {false, {}};
    out.close.push_back(v->id);
  }
  return out;
}

}  // namespace agent::http
