// SPDX-License-Identifier: Apache-2.0
#include "app/ordinal_learner.h"

#include "cluster/identity.h"
#include "common/files.h"
#include "common/log.h"
#include "nodes_conf/nodes_conf.h"
#include "statefile/statefile.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

constexpr std::string_view kIdentityHeader =
    "redis-cluster-agent: the nodes this data directory has run, oldest first, and whether each\n"
    "started here without an earlier nodes.conf (fresh) or not (inherited). /peerinfo reports\n"
    "it. Deleting it makes the agent record the current node as inherited.";

}  // namespace

bool bornEmpty(const cluster::Snapshot& local) {
  const auto* me = local.myself();
  return me != nullptr && local.nodes->nodes().size() == 1 && me->slots.empty() &&
         local.keys == 0 && me->config_epoch == 0 &&
         local.cluster_info.integerOr("cluster_current_epoch", 0) == 0;
}

OrdinalLearner::OrdinalLearner(const std::string& nodes_conf, std::optional<int> my_ordinal,
                               std::string set)
    : path_(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)),
      identity_path_(statefile::pathBeside(nodes_conf, statefile::kIdentity)),
      my_ordinal_(my_ordinal),
      set_(std::move(set)) {
  if (auto text = files::read(path_)) {
    if (auto map = nodes_conf::OrdinalMap::parse(*text)) map_ = std::move(*map);
  }
  if (auto text = statefile::read(identity_path_); text && *text) {
    for (const auto& e : statefile::parse(**text)) {
      if (e.key == "node" && e.values.size() == 2 && nodes_conf::isValidNodeId(e.values[0])) {
        births_.push_back({e.values[0], e.values[1] == "fresh"});
      }
    }
  }
}

void OrdinalLearner::save() {
  if (Status st = files::writeAtomically(path_, map_.render()); !st) {
    kLog.warn("Could not save the ordinal map", {{"path", path_}, {"err", st.error().message}});
  }
}

void OrdinalLearner::saveBirths() {
  std::vector<statefile::Entry> entries;
  for (const auto& b : births_)
    entries.push_back({"node", {b.id, b.fresh ? "fresh" : "inherited"}});
  if (Status st = statefile::write(identity_path_, statefile::render(kIdentityHeader, entries));
      !st) {
    kLog.warn("Could not save the node's identity record",
              {{"path", identity_path_}, {"err", st.error().message}});
  }
}

void OrdinalLearner::noteOwnNode(const cluster::Snapshot& local) {
  std::string id = local.myId();
  for (const auto& b : births_) {
    if (b.id == id) {
      fresh_ = b.fresh;
      return;
    }
  }
  fresh_ = bornEmpty(local);
  births_.push_back({id, fresh_});
  if (births_.size() > kMaxBirths) births_.erase(births_.begin());
  kLog.info("Recorded this pod's node",
            {{"node", id}, {"startedWith", fresh_ ? "no nodes.conf (fresh)" : "its state"}});
  saveBirths();
}

void OrdinalLearner::noteLocal(const cluster::Snapshot& local) {
  if (!local.nodes || local.myself() == nullptr || !my_ordinal_) return;
  if (local.nodes != known_view_) {
    known_.clear();
    for (const auto& n : local.nodes->nodes()) known_.insert(n.id);
    known_view_ = local.nodes;
  }
  noteOwnNode(local);
  changed_ |= map_.set(local.myId(), *my_ordinal_, true);
}

void OrdinalLearner::learn(const std::vector<cluster::PeerProbe>& probes) {
  for (const auto& p : probes) {
    if (p.ordinal == my_ordinal_ || p.stale || !cluster::vouched(p, set_) ||
        known_.count(p.node_id) == 0) {
      continue;
    }
    if (map_.set(p.node_id, p.ordinal, true)) {
      kLog.info("Learned which node runs in a pod, as its agent vouched",
                {{"pod", p.pod()}, {"ordinal", p.ordinal}, {"node", p.node_id}});
      changed_ = true;
    }
  }
  // Also rewrite a map someone deleted: prepare needs it after the next restart.
  if (changed_ || !files::exists(path_)) save();
  changed_ = false;
}

}  // namespace agent::app
