// SPDX-License-Identifier: Apache-2.0
#include "app/publisher.h"

#include <algorithm>

#include "common/clock.h"

namespace agent::app {

state::Phase phaseOf(const state::StateView& v, bool joined) {
  using state::Phase;
  if (v.stopping) return Phase::Stopping;
  if (v.passes == 0) return Phase::Starting;
  if (!v.redis_reachable) return Phase::WaitingForRedis;
  if (!v.unsupported_server.empty()) return Phase::Unsupported;
  if (v.local->loading || !v.local->nodes) return Phase::Loading;
  if (v.creator_active && v.create_phase == cluster::CreatePhase::Blocked) return Phase::Blocked;
  if (v.creator_active || !joined) return Phase::Bootstrapping;
  if (v.healing) return Phase::Healing;
  return Phase::Running;
}

void StatePublisher::publish(std::shared_ptr<state::StateView> view) {
  view->updated_ms = monotonicMs();
  view->updated_unix_ms = wallMs();
  probes::Observation obs{view->local ? &*view->local : nullptr, view->redis_error,
                          view->redis_timed_out, view->redis_answered};
  if (view->passes == 0) obs.error = "not checked yet";
  auto instant = probes::readinessChecks(obs);
  bool joined = std::any_of(instant.begin(), instant.end(), [](const probes::Check& c) {
    return c.name == "cluster-joined" && c.ok;
  });
  view->readiness = view->passes == 0 ? instant : gate_.update(instant, view->updated_ms);
  view->phase = phaseOf(*view, joined);
  store_.publish(std::move(view));
}

}  // namespace agent::app
