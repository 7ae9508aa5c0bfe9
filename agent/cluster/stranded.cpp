// SPDX-License-Identifier: Apache-2.0
#include "cluster/stranded.h"

#include <fmt/format.h>

#include <algorithm>

#include "cluster/health.h"
#include "common/text.h"

namespace agent::cluster {

namespace {

// A working replica of `master_id` in the view: Redis elects one of them itself.
bool hasWorkingReplica(const nodes_conf::NodesConf& view, const std::string& master_id) {
  return std::any_of(view.nodes().begin(), view.nodes().end(), [&](const nodes_conf::Node& r) {
    return r.master_id == master_id && working(r);
  });
}

// The ordinal of the pod that runs or ran `id`: the pod answering as it, else the map's entry.
std::optional<int> ordinalOf(const StrandedInput& in, const std::string& id) {
  for (const auto& p : *in.pods) {
    if (p.node_id == id) return p.ordinal;
  }
  if (in.map == nullptr) return std::nullopt;
  if (auto o = in.map->ordinalOf(id)) return o;
  return in.map->retiredOrdinal(id);
}

std::string podName(const StrandedInput& in, int ordinal) {
  if (ordinal < static_cast<int>(in.pods->size())) {
    return (*in.pods)[static_cast<size_t>(ordinal)].pod();
  }
  auto name = text::expandTemplate(in.set, {{"ordinal", std::to_string(ordinal)}});
  if (!name || name->empty()) return fmt::format("ordinal {}", ordinal);
  return name->substr(0, name->find('.'));
}

// Why the pod of ordinal `o` counts as gone, or "" while it may just be restarting.
std::string goneWhy(const StrandedInput& in, int o) {
  if (o >= in.nodes) {
    return fmt::format(
        "its ordinal {} is beyond --cluster-nodes {} (the StatefulSet was scaled "
        "in)",
        o, in.nodes);
  }
  if (o < 0 || o >= static_cast<int>(in.pods->size())) return {};
  const auto& p = (*in.pods)[static_cast<size_t>(o)];
  if (p.ip.empty() && p.error) return "its pod's name no longer resolves (the pod is gone)";
  return {};
}

// The highest ordinal among `master` and the replicas the view lists for it, plus one.
int scaleTo(const StrandedInput& in, const std::string& master_id, int ordinal) {
  int top = ordinal;
  for (const auto& r : in.view->nodes()) {
    if (r.master_id != master_id) continue;
    if (auto o = ordinalOf(in, r.id)) top = std::max(top, *o);
  }
  return std::max(in.nodes, top + 1);
}

std::string rangesText(const std::vector<nodes_conf::SlotRange>& ranges) {
  std::vector<std::string> parts;
  parts.reserve(ranges.size());
  for (const auto& r : ranges) {
    parts.push_back(r.first == r.last ? std::to_string(r.first)
                                      : fmt::format("{}-{}", r.first, r.last));
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace

int Stranded::slotCount() const {
  int n = 0;
  for (const auto& r : slots) n += r.count();
  return n;
}

std::vector<Stranded> findStranded(const StrandedInput& in) {
  std::vector<Stranded> out;
  if (in.view == nullptr || in.pods == nullptr) return out;
  for (const auto& m : in.view->nodes()) {
    if (!m.isMaster() || m.slots.empty() || !(m.isFailed() || m.isPfail())) continue;
    if (hasWorkingReplica(*in.view, m.id)) continue;
    Stranded s{m.id, -1, "", "", m.slots, in.nodes};
    if (auto o = ordinalOf(in, m.id)) {
      s.gone = goneWhy(in, *o);
      if (s.gone.empty()) continue;  // its pod is there: it is restarting, not gone
      s.ordinal = *o;
      s.pod = podName(in, *o);
      s.scale_to = scaleTo(in, m.id, *o);
    } else {
      s.gone = "no pod of this StatefulSet is known to have run it";
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const Stranded& a, const Stranded& b) {
    return std::pair(a.ordinal < 0 ? 1 << 20 : a.ordinal, a.node_id) <
           std::pair(b.ordinal < 0 ? 1 << 20 : b.ordinal, b.node_id);
  });
  return out;
}

std::vector<Stranded> findStrandedByAgents(const nodes_conf::NodesConf& view,
                                           const std::map<std::string, int>& vouched,
                                           const std::string& set,
                                           const nodes_conf::OrdinalMap* map) {
  if (vouched.empty()) return {};
  int size = 0;
  for (const auto& [id, o] : vouched) size = std::max(size, o + 1);
  std::vector<PeerProbe> pods(static_cast<size_t>(size));
  for (int k = 0; k < size; ++k) {
    auto& p = pods[static_cast<size_t>(k)];
    p.ordinal = k;
    auto name = text::expandTemplate(set, {{"ordinal", std::to_string(k)}});
    p.name = name && !name->empty() ? *name : fmt::format("ordinal {}", k);
  }
  for (const auto& [id, o] : vouched) {
    auto& p = pods[static_cast<size_t>(o)];
    p.node_id = id;
    if (const auto* n = view.find(id)) p.ip = n->address.host;
  }
  return findStranded({&view, &pods, map, size, set});
}

std::string describeStranded(const Stranded& s) {
  std::string who = s.pod.empty() ? fmt::format("node {}", text::shortId(s.node_id))
                                  : fmt::format("node {} of {}", text::shortId(s.node_id), s.pod);
  std::string fix =
      s.ordinal >= 0 ? fmt::format(
                           "scale the StatefulSet back to {} replicas: the PVCs are retained, the "
                           "node comes back with its data and the cluster recovers by itself; "
                           "then drain before scaling in",
                           s.scale_to)
                     : std::string("bring back the pod that ran it with its volume");
  return fmt::format(
      "{} slots ({}) are served by nobody: their master {} failed and {}, and no replica can "
      "take over; {}. The agent changes nothing (no FORGET, FAILOVER or SETSLOT): those keys "
      "exist only on that pod's volume",
      s.slotCount(), rangesText(s.slots), who, s.gone, fix);
}

int strandedSlots(const std::vector<Stranded>& all) {
  int n = 0;
  for (const auto& s : all) n += s.slotCount();
  return n;
}

}  // namespace agent::cluster
