// SPDX-License-Identifier: Apache-2.0
#include "app/ordinal_learner.h"

#include "common/files.h"
#include "common/log.h"
#include "statefile/statefile.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

}  // namespace

OrdinalLearner::OrdinalLearner(const std::string& nodes_conf, std::optional<int> my_ordinal,
                               int cluster_nodes)
    : path_(statefile::pathBeside(nodes_conf, statefile::kOrdinalMap)),
      my_ordinal_(my_ordinal),
      previous_ids_(static_cast<size_t>(cluster_nodes)) {
  if (auto text = files::read(path_)) {
    if (auto map = nodes_conf::OrdinalMap::parse(*text)) map_ = std::move(*map);
  }
}

void OrdinalLearner::save() {
  if (Status st = files::writeAtomically(path_, map_.render()); !st) {
    kLog.warn("Could not save the ordinal map", {{"path", path_}, {"err", st.error().message}});
  }
}

void OrdinalLearner::learn(const std::optional<cluster::Snapshot>& local,
                           const std::vector<cluster::PeerProbe>& probes) {
  bool changed = false;
  if (local && local->nodes && my_ordinal_) changed |= map_.set(local->myId(), *my_ordinal_);
  for (const auto& p : probes) {
    auto idx = static_cast<size_t>(p.ordinal);
    if (p.ordinal == my_ordinal_) continue;
    if (p.answering() && previous_ids_[idx] == p.node_id && map_.set(p.node_id, p.ordinal)) {
      kLog.info("Learned which node runs in a pod",
                {{"pod", p.pod()}, {"ordinal", p.ordinal}, {"node", p.node_id}});
      changed = true;
    }
    previous_ids_[idx] = p.node_id;
  }
  // Also rewrite a map someone deleted: prepare needs it after the next restart.
  if (changed || !files::exists(path_)) save();
}

}  // namespace agent::app
