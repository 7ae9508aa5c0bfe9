// SPDX-License-Identifier: Apache-2.0
// Publishes what a loop pass saw: completes the view (time, readiness through the gate, phase)
// and makes it the one probes and scrapes read. Readiness passes through the gate once per loop
// pass, so its hysteresis counts passes of the loop, not requests of whoever probes. publish()
// runs on the loop thread; store() is read by the HTTP workers.
#pragma once

#include <memory>

#include "probes/readiness.h"
#include "state/view.h"

namespace agent::app {

class StatePublisher {
 public:
  // `view` carries the facts of the pass; the fields named above are filled in here.
  void publish(std::shared_ptr<state::StateView> view);
  const state::StateStore& store() const { return store_; }

 private:
  state::StateStore store_;
  probes::ReadinessGate gate_;
};

// What the agent is busy with, from a view's facts; `joined`: the cluster-joined check passes.
state::Phase phaseOf(const state::StateView& view, bool joined);

}  // namespace agent::app
