// SPDX-License-Identifier: Apache-2.0
#include "auth/record.h"

#include <algorithm>

#include "statefile/statefile.h"

namespace agent::auth {

namespace {

constexpr std::string_view kHeader =
    "Written by redis-cluster-agent: the SHA-256 of every password this node accepts (Redis' ACL\n"
    "form). Several while a password rotation runs: a restarted Redis gets them back from the\n"
    "agent until every node has the new password. Do not edit.";

}  // namespace

bool isSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool AuthRecord::has(std::string_view hash) const {
  return std::find(accepts.begin(), accepts.end(), hash) != accepts.end();
}

void AuthRecord::add(const std::string& hash) {
  if (!has(hash)) accepts.push_back(hash);
}

bool AuthRecord::rotatingTo(std::string_view target_hash) const {
  return accepts.size() > 1 && has(target_hash);
}

Result<AuthRecord> parseAuthRecord(std::string_view text) {
  AuthRecord out;
  for (const auto& e : statefile::parse(text)) {
    if (e.key != "accept" || e.values.size() != 1 || !isSha256Hex(e.values[0])) {
      return e.invalid("expected \"accept <SHA-256 in hex>\"");
    }
    out.add(e.values[0]);
  }
  return out;
}

std::string renderAuthRecord(const AuthRecord& record) {
  std::vector<statefile::Entry> entries;
  for (const auto& h : record.accepts) entries.push_back({"accept", {h}});
  return statefile::render(kHeader, entries);
}

Result<std::optional<AuthRecord>> loadAuthRecord(const std::string& nodes_conf_path) {
  std::string path = statefile::pathBeside(nodes_conf_path, statefile::kAuth);
  auto text = statefile::read(path);
  if (!text) return text.error();
  if (!*text) return std::optional<AuthRecord>();
  auto record = parseAuthRecord(**text);
  if (!record) return fail(Errc::Invalid, path + ": " + record.error().message);
  return std::optional<AuthRecord>(std::move(*record));
}

Status saveAuthRecord(const std::string& nodes_conf_path, const AuthRecord& record) {
  return statefile::write(statefile::pathBeside(nodes_conf_path, statefile::kAuth),
                          renderAuthRecord(record), 0600);
}

}  // namespace agent::auth
