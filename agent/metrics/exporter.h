// SPDX-License-Identifier: Apache-2.0
// The agent's Prometheus metrics, all named redis_cluster_agent_* (docs/metrics.md maps them to
// redis_exporter's). Built fresh from the published StateView on every scrape, exporter style:
// a scrape never talks to Redis and never shows a value the view does not hold. The only code
// that includes prometheus-cpp; depends on state/ (the view) and the modules it carries.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "state/view.h"

namespace prometheus {
class Registry;
}

namespace agent::metrics {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Facts fixed for the life of the process.
struct Identity {
  std::string version;
  std::string revision;
  std::optional<int> ordinal;
  int expected_nodes = 0;
  int expected_replicas = 0;
  bool observe = false;
  int64_t start_unix_ms = 0;
};

class Exporter {
 public:
  explicit Exporter(const Identity& identity);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // The text exposition (format 0.0.4) of `view`. Thread-safe: HTTP workers call it at once.
  std::string render(const state::StateView& view) const;
  // The same for a published view, rendered once and reused until another view is published:
  // a view never changes, and neither does its text.
  std::string render(const std::shared_ptr<const state::StateView>& view) const;

 private:
  Identity identity_;
  std::shared_ptr<prometheus::Registry> registry_;  // the fixed metrics (build info, config)
  mutable std::mutex cache_mu_;
  mutable std::weak_ptr<const state::StateView> cached_view_;
  mutable std::string cached_text_;
};

}  // namespace agent::metrics
