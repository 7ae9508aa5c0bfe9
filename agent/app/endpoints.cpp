// SPDX-License-Identifier: Apache-2.0
#include "app/endpoints.h"

#include "common/clock.h"
#include "probes/check.h"
#include "probes/lifecycle.h"

namespace agent::app {

namespace {

constexpr const char* kLanding =
    "<html><head><title>redis-cluster-agent</title></head><body><h1>redis-cluster-agent</h1>"
    "<ul><li><a href=\"/metrics\">/metrics</a></li><li><a href=\"/readyz?verbose\">/readyz</a>"
    "</li><li><a href=\"/livez?verbose\">/livez</a></li><li><a href=\"/startupz?verbose\">"
    "/startupz</a></li></ul></body></html>\n";

http::Response probeResponse(const char* endpoint, const std::vector<probes::Check>& checks,
                             const http::Params& params) {
  auto rendered = probes::render(endpoint, checks, probes::parseQuery(params));
  return {rendered.status, "text/plain; charset=utf-8", std::move(rendered.body)};
}

}  // namespace

void serveProbes(http::Server& server, const state::StateStore& store,
                 const metrics::Exporter& exporter, int64_t liveness_limit_ms) {
  server.get("/livez", [&store, liveness_limit_ms](const http::Params& params) {
    auto view = store.get();
    int64_t last = view->passes > 0 ? view->updated_ms : view->started_ms;
    return probeResponse("livez", probes::livenessChecks(last, monotonicMs(), liveness_limit_ms),
                         params);
  });
  server.get("/readyz", [&store](const http::Params& params) {
    return probeResponse("readyz", store.get()->readiness, params);
  });
  server.get("/startupz", [&store](const http::Params& params) {
    return probeResponse("startupz", probes::startupChecks(store.get()->passes), params);
  });
  server.get("/metrics", [&store, &exporter](const http::Params&) {
    return http::Response{200, metrics::kContentType, exporter.render(store.get())};
  });
  server.get("/", [](const http::Params&) {
    return http::Response{200, "text/html; charset=utf-8", kLanding};
  });
}

}  // namespace agent::app
