// SPDX-License-Identifier: Apache-2.0
// Watches the directory of nodes.conf: a change to nodes.conf wakes the loop at once (Redis
// rewrites it on every cluster change), a change to prepare's record makes the next view read
// it again. A watcher that failed, or lost its directory, is started again from the loop. The
// loop thread calls every method; the change callback runs on the watcher's thread and only
// touches atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/counters.h"
#include "common/stop.h"
#include "prepare/record.h"
#include "state/view.h"
#include "watch/dir_watcher.h"

namespace agent::app {

class NodesConfWatch {
 public:
  NodesConfWatch(std::string nodes_conf, Activity& activity);
  ~NodesConfWatch() { stop(); }
  NodesConfWatch(const NodesConfWatch&) = delete;
  NodesConfWatch& operator=(const NodesConfWatch&) = delete;

  // Changes to nodes.conf wake `wake` (null: nobody) from now on.
  void setWake(StopSignal* wake) { wake_ = wake; }
  // Starts the watcher unless it is running.
  void ensure();
  // Stops the watcher (its thread calls back into this object until then).
  void stop() { watcher_.reset(); }
  // The watch and prepare fields of the published view; re-reads prepare's record when it
  // changed, or on every call while nothing watches.
  void describe(state::StateView& view);

 private:
  void onChange(const std::string& name);

  std::string nodes_conf_;
  std::string record_name_;
  Activity& activity_;
  std::atomic<StopSignal*> wake_{nullptr};
  bool failed_ = false;  // logged once until it works again
  std::atomic<int64_t> changes_{0};
  std::atomic<bool> record_changed_{true};
  prepare::Record record_;
  std::unique_ptr<watch::DirWatcher> watcher_;
};

}  // namespace agent::app
