// SPDX-License-Identifier: Apache-2.0
// The probe and metrics endpoints of the read-only listener: /livez, /readyz, /startupz (each
// with ?verbose and ?exclude=), /metrics and a landing page. Every handler reads the published
// StateView and nothing else, so probes and scrapes never wait on Redis (docs/probes.md).
#pragma once

#include <cstdint>

#include "http/server.h"
#include "metrics/exporter.h"
#include "state/view.h"

namespace agent::app {

// `store` and `exporter` must outlive the server's handlers. `liveness_limit_ms`: see
// probes::livenessLimitMs().
void serveProbes(http::Server& server, const state::StateStore& store,
                 const metrics::Exporter& exporter, int64_t liveness_limit_ms);

}  // namespace agent::app
