// SPDX-License-Identifier: Apache-2.0
#include "auth/node_auth.h"

#include <fmt/format.h>
#include <algorithm>

#include "auth/record.h"
#include "redis/scrub.h"

namespace agent::auth {

namespace {

// Redis echoes a bad ACL modifier in its error ("Error in ACL SETUSER modifier '>...'"): the
// message is scrubbed again here, whatever connection ran the command (a peer's goes through the
// pool, which does not know which argument is secret).
Error scrubbed(const Error& e, const std::string& password, std::string_view what) {
  std::string msg = password.empty() ? e.message : redis::scrubSecrets(e.message, {password});
  return fail(e.code, fmt::format("{}: {}", what, msg));
}

Status runScrubbed(const RunCommand& run, const std::vector<std::string>& args,
                   const std::string& secret, std::string_view what) {
  auto reply = run(args);
  if (!reply) return scrubbed(reply.error(), secret, what);
  return {};
}

// CONFIG GET <name>: [name, value] (RESP2); the value, empty when unset.
Result<std::string> configValue(const redis::Reply& reply, std::string_view name) {
  if (reply.type != redis::Reply::Type::Array || reply.elements.size() != 2) {
    return fail(Errc::Protocol, fmt::format("CONFIG GET {}: unexpected reply", name));
  }
  return reply.elements[1].str;
}

}  // namespace

bool NodeAuth::acceptsHash(std::string_view hash) const {
  return std::find(accepts.begin(), accepts.end(), hash) != accepts.end();
}

Result<NodeAuth> parseNodeAuth(const redis::Reply& getuser, const redis::Reply& masterauth) {
  if (getuser.type != redis::Reply::Type::Array || getuser.elements.size() % 2 != 0) {
    return fail(Errc::Protocol, "ACL GETUSER default: unexpected reply");
  }
  NodeAuth out;
  for (size_t i = 0; i + 1 < getuser.elements.size(); i += 2) {
    const auto& key = getuser.elements[i].str;
    const auto& value = getuser.elements[i + 1];
    if (key == "flags") {
      for (const auto& f : value.elements) out.nopass = out.nopass || f.str == "nopass";
    } else if (key == "passwords") {
      for (const auto& p : value.elements) {
        if (!isSha256Hex(p.str)) {
          return fail(Errc::Protocol, "ACL GETUSER default: a password is not a SHA-256");
        }
        out.accepts.push_back(p.str);
      }
    }
  }
  auto ma = configValue(masterauth, "masterauth");
  if (!ma) return ma.error();
  if (!ma->empty()) out.masterauth = std::move(*ma);
  return out;
}

Result<NodeAuth> readNodeAuth(const RunCommand& run) {
  auto getuser = run({"ACL", "GETUSER", "default"});
  if (!getuser) return getuser.error();
  auto masterauth = run({"CONFIG", "GET", "masterauth"});
  if (!masterauth) return masterauth.error();
  return parseNodeAuth(*getuser, *masterauth);
}

Status addPassword(const RunCommand& run, const std::string& password) {
  return runScrubbed(run, {"ACL", "SETUSER", "default", ">" + password}, password,
                     "ACL SETUSER default (adding the new password)");
}

Status addPasswordHash(const RunCommand& run, const std::string& hash) {
  return runScrubbed(run, {"ACL", "SETUSER", "default", "#" + hash}, {},
                     "ACL SETUSER default (restoring a password)");
}

Status setMasterauth(const RunCommand& run, const std::string& password) {
  return runScrubbed(run, {"CONFIG", "SET", "masterauth", password}, password,
                     "CONFIG SET masterauth");
}

// ACL SETUSER first: CONFIG SET requirepass with the value it already has changes nothing, and
// that is the case of a Redis restarted mid-rotation (its include already says the new password;
// the old ones came back by ACL SETUSER). CONFIG SET then keeps `requirepass` itself in step.
Status acceptOnly(const RunCommand& run, const std::string& password) {
  if (Status st = runScrubbed(run, {"ACL", "SETUSER", "default", "resetpass", ">" + password},
                              password, "ACL SETUSER default (only the new password)");
      !st) {
    return st;
  }
  return runScrubbed(run, {"CONFIG", "SET", "requirepass", password}, password,
                     "CONFIG SET requirepass");
}

Result<bool> usesAclFile(const RunCommand& run) {
  auto reply = run({"CONFIG", "GET", "aclfile"});
  if (!reply) return reply.error();
  auto value = configValue(*reply, "aclfile");
  if (!value) return value.error();
  return !value->empty();
}

}  // namespace agent::auth
