// SPDX-License-Identifier: Apache-2.0
#include "cluster/identity.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "common/text.h"

namespace agent::cluster {

Verdict vouchFor(const PeerProbe& pod, const std::string& set) {
  if (!pod.answering()) return {Vouch::NotAsked, fmt::format("{} does not answer", pod.pod())};
  if (!pod.agent_asked)
    return {Vouch::NotAsked, fmt::format("{}'s agent was not asked", pod.pod())};
  if (!pod.agent) {
    return {Vouch::NoAgent, fmt::format("no agent of this StatefulSet answers at {}'s address {}",
                                        pod.pod(), pod.ip)};
  }
  const AgentInfo& a = *pod.agent;
  if (a.set.empty()) {  // agents up to 0.2 do not say which StatefulSet they belong to
    return {Vouch::NoAgent,
            fmt::format("the agent at {}'s address {} is too old to vouch for its pod", pod.pod(),
                        pod.ip)};
  }
  if (a.set != set) {
    return {Vouch::OtherSet, fmt::format("{}'s name leads to an agent of another StatefulSet "
                                         "({}) at {}",
                                         pod.pod(), a.set, pod.ip)};
  }
  if (a.ordinal != pod.ordinal) {
    return {Vouch::OtherPod,
            fmt::format("{}'s name leads to the agent of {} at {}", pod.pod(),
                        a.pod.empty() ? fmt::format("ordinal {}", a.ordinal) : a.pod, pod.ip)};
  }
  if (a.node_id != pod.node_id) {
    return {Vouch::OtherNode,
            fmt::format("{}'s agent reports node {}, node {} answers there", pod.pod(),
                        text::shortId(a.node_id), text::shortId(pod.node_id))};
  }
  return {Vouch::Confirmed, {}};
}

std::vector<std::string> identityConflicts(const std::vector<PeerProbe>& pods, int my_ordinal,
                                           const std::string& set) {
  std::vector<std::string> out;
  for (const auto& p : pods) {
    if (p.ordinal == my_ordinal) continue;
    Verdict v = vouchFor(p, set);
    if (misdirected(v)) out.push_back(v.why);
  }
  return out;
}

namespace {

bool knowsEachOther(const PeerProbe& a, const PeerProbe& b) {
  return a.snapshot->nodes->find(b.node_id) != nullptr &&
         b.snapshot->nodes->find(a.node_id) != nullptr;
}

}  // namespace

std::vector<const PeerProbe*> agreedCluster(const std::vector<const PeerProbe*>& members,
                                            std::vector<const PeerProbe*>& outsiders) {
  // Union-find over "knows each other": a handful of pods, so plain loops.
  std::vector<size_t> group(members.size());
  std::iota(group.begin(), group.end(), 0);
  auto root = [&](size_t i) {
    while (group[i] != i) i = group[i];
    return i;
  };
  for (size_t i = 0; i < members.size(); ++i) {
    for (size_t j = i + 1; j < members.size(); ++j) {
      if (knowsEachOther(*members[i], *members[j])) group[root(j)] = root(i);
    }
  }
  std::vector<size_t> size(members.size(), 0);
  for (size_t i = 0; i < members.size(); ++i) ++size[root(i)];
  size_t best = 0;
  for (size_t i = 0; i < members.size(); ++i) best = size[i] > size[best] ? i : best;
  bool unique = std::count(size.begin(), size.end(), size.empty() ? 0 : size[best]) == 1;
  std::vector<const PeerProbe*> agreed;
  for (size_t i = 0; i < members.size(); ++i) {
    (unique && root(i) == best ? agreed : outsiders).push_back(members[i]);
  }
  return agreed;
}

}  // namespace agent::cluster
