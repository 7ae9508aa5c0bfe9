// SPDX-License-Identifier: Apache-2.0
#include "probes/check.h"

#include <algorithm>

namespace agent::probes {

Query parseQuery(const std::multimap<std::string, std::string>& params) {
  Query q;
  for (const auto& [key, value] : params) {
    if (key == "verbose") q.verbose = true;
    if (key == "exclude") q.exclude.push_back(value);
  }
  return q;
}

Rendered render(std::string_view endpoint, const std::vector<Check>& checks, const Query& query) {
  auto excluded = [&](const std::string& name) {
    return std::find(query.exclude.begin(), query.exclude.end(), name) != query.exclude.end();
  };
  // Fail closed: an empty list means nothing was checked, not that all is well.
  bool ok = !checks.empty();
  std::string lines = ok ? "" : "[-]checks failed: nothing was checked\n";
  for (const auto& c : checks) {
    if (excluded(c.name)) {
      lines += "[+]" + c.name + " excluded: ok\n";
    } else if (c.ok) {
      lines += "[+]" + c.name + " ok\n";
    } else {
      ok = false;
      lines += "[-]" + c.name + " failed: " + c.reason + "\n";
    }
  }
  for (const auto& name : query.exclude) {
    bool known =
        std::any_of(checks.begin(), checks.end(), [&](const Check& c) { return c.name == name; });
    if (!known) {
      lines += "warn: some health checks cannot be excluded: no matches for \"" + name + "\"\n";
    }
  }
  if (ok && !query.verbose) return {200, "ok\n"};
  lines += std::string(endpoint) + (ok ? " check passed\n" : " check failed\n");
  // 503, not kube-apiserver's 500: "not ready" is an expected state, not a server error, and
  // the kubelet treats every status >= 400 as a failure either way.
  return {ok ? 200 : 503, std::move(lines)};
}

}  // namespace agent::probes
