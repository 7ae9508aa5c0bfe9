// SPDX-License-Identifier: Apache-2.0
#include "prepare/record.h"

#include "common/log.h"
#include "statefile/statefile.h"

namespace agent::prepare {

namespace {

const log::Logger kLog("prepare");

std::string recordPath(const std::string& nodes_conf_path) {
  return statefile::pathBeside(nodes_conf_path, statefile::kPrepareStats);
}

}  // namespace

Result<Record> parseRecord(std::string_view text) {
  Record r;
  for (const auto& e : statefile::parse(text)) {
    if (e.key != "rewrites" && e.key != "addresses_rewritten") continue;
    auto n = e.values.size() == 1 ? e.integer() : std::nullopt;
    if (!n || *n < 0) return e.invalid("expected a count");
    (e.key == "rewrites" ? r.rewrites : r.addresses_rewritten) = *n;
  }
  return r;
}

std::string renderRecord(const Record& r) {
  return statefile::render("Written by redis-cluster-agent prepare; read by run for its metrics.",
                           {{"rewrites", {std::to_string(r.rewrites)}},
                            {"addresses_rewritten", {std::to_string(r.addresses_rewritten)}}});
}

Record loadRecord(const std::string& nodes_conf_path) {
  auto text = statefile::read(recordPath(nodes_conf_path));
  if (!text || !*text) return {};
  auto record = parseRecord(**text);
  return record ? *record : Record{};
}

void noteRewrite(const std::string& nodes_conf_path, int64_t addresses) {
  Record r = loadRecord(nodes_conf_path);
  r.rewrites += 1;
  r.addresses_rewritten += addresses;
  std::string path = recordPath(nodes_conf_path);
  if (Status st = statefile::write(path, renderRecord(r)); !st) {
    kLog.warn("Could not update the prepare record", {{"path", path}, {"err", st.error().message}});
  }
}

}  // namespace agent::prepare
