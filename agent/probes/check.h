// SPDX-License-Identifier: Apache-2.0
// Named health checks and their rendering in the style of kube-apiserver's /livez and /readyz:
// "ok", or one "[+]name ok" / "[-]name failed: reason" line per check. Pure: no I/O, no clock.
// The probes module depends on common/, nodes_conf/ and cluster/snapshot.h only.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace agent::probes {

struct Check {
  std::string name;  // kebab-case, stable: operators exclude checks by name
  bool ok = false;
  std::string reason;  // why it failed; empty when ok
  // A hard failure counts at once; a soft one only once it lasts (see ReadinessGate), so a
  // blip in gossip or in a replication link does not flap readiness.
  bool hard = true;
};

inline Check pass(std::string name) {
  return {std::move(name), true, {}, true};
}
inline Check hardFail(std::string name, std::string reason) {
  return {std::move(name), false, std::move(reason), true};
}
inline Check softFail(std::string name, std::string reason) {
  return {std::move(name), false, std::move(reason), false};
}

// What the query string asks for: "?verbose" and "?exclude=name" (repeatable), as in
// kube-apiserver.
struct Query {
  bool verbose = false;
  std::vector<std::string> exclude;
};
Query parseQuery(const std::multimap<std::string, std::string>& params);

struct Rendered {
  int status = 200;
  std::string body;
};

// 200 "ok" when every check not excluded passes (the full list with ?verbose), otherwise 503
// with the full list: a failing probe always says why. `endpoint` names the last line
// ("readyz check passed").
Rendered render(std::string_view endpoint, const std::vector<Check>& checks, const Query& query);

}  // namespace agent::probes
