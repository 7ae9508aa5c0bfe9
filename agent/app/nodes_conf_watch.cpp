// SPDX-License-Identifier: Apache-2.0
#include "app/nodes_conf_watch.h"

#include "common/files.h"
#include "common/log.h"
#include "statefile/statefile.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

}  // namespace

NodesConfWatch::NodesConfWatch(std::string nodes_conf, Activity& activity)
    : nodes_conf_(std::move(nodes_conf)),
      record_name_(statefile::kPrepareStats),
      activity_(activity) {}

void NodesConfWatch::onChange(const std::string& name) {
  if (name == record_name_) {
    record_changed_ = true;
  } else {
    ++changes_;
  }
  if (StopSignal* wake = wake_.load(); wake != nullptr) wake->wake();
}

// The directory of nodes.conf exists before Redis starts (it is the data volume), but is
// watched from the loop so a watcher that failed, or lost its directory, comes back.
void NodesConfWatch::ensure() {
  if (watcher_ && watcher_->active()) return;
  std::string dir = files::dirName(nodes_conf_);
  auto w = watch::DirWatcher::start(dir, {files::baseName(nodes_conf_), record_name_},
                                    [this](const std::string& name) { onChange(name); });
  if (!w) {
    if (!failed_) {
      kLog.warn("Cannot watch nodes.conf; relying on polling",
                {{"dir", dir}, {"err", w.error().message}});
      activity_.errors.add(ErrorKind::NodesConfWatch);
    }
    failed_ = true;
    watcher_.reset();
    return;
  }
  if (failed_) kLog.info("Watching nodes.conf again", {{"dir", dir}});
  failed_ = false;
  watcher_ = std::move(*w);
  record_changed_ = true;  // it may have changed while nobody watched
}

void NodesConfWatch::describe(state::StateView& view) {
  bool watching = watcher_ && watcher_->active();
  if (record_changed_.exchange(false) || !watching) record_ = prepare::loadRecord(nodes_conf_);
  view.prepare = record_;
  view.nodes_conf_changes = changes_.load();
  view.watching = watching;
}

}  // namespace agent::app
