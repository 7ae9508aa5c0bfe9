// SPDX-License-Identifier: Apache-2.0
#include "prepare/record.h"

#include <fmt/format.h>

#include "common/files.h"
#include "common/log.h"
#include "common/text.h"

namespace agent::prepare {

namespace {

const log::Logger kLog("prepare");

}  // namespace

std::string recordPath(const std::string& nodes_conf_path) {
  return files::dirName(nodes_conf_path) + "/nodes.prepare-stats";
}

Result<Record> parseRecord(std::string_view text) {
  Record r;
  for (const auto& [key, value] : text::parseInfoFields(text)) {
    auto n = text::parseInt(value);
    if (!n || *n < 0) return fail(Errc::Invalid, fmt::format("bad value for {}: '{}'", key, value));
    if (key == "rewrites") r.rewrites = *n;
    if (key == "addresses_rewritten") r.addresses_rewritten = *n;
  }
  return r;
}

std::string renderRecord(const Record& r) {
  return "# Written by redis-cluster-agent prepare; read by run for its metrics.\nrewrites:" +
         std::to_string(r.rewrites) +
         "\naddresses_rewritten:" + std::to_string(r.addresses_rewritten) + "\n";
}

Record loadRecord(const std::string& nodes_conf_path) {
  auto text = files::read(recordPath(nodes_conf_path));
  if (!text) return {};
  auto record = parseRecord(*text);
  return record ? *record : Record{};
}

void noteRewrite(const std::string& nodes_conf_path, int64_t addresses) {
  Record r = loadRecord(nodes_conf_path);
  r.rewrites += 1;
  r.addresses_rewritten += addresses;
  std::string path = recordPath(nodes_conf_path);
  if (Status st = files::writeAtomically(path, renderRecord(r)); !st) {
    kLog.warn("Could not update the prepare record", {{"path", path}, {"err", st.error().message}});
  }
}

}  // namespace agent::prepare
