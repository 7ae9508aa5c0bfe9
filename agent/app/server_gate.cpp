// SPDX-License-Identifier: Apache-2.0
#include "app/server_gate.h"

#include "common/log.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

}  // namespace

bool ServerGate::allows(const cluster::Snapshot& local) {
  server_ = redis::serverInfoFrom(local.info);
  // INFO without a version is no Redis the agent can judge; the other checks of the pass
  // (a snapshot that does not parse) stop it then.
  Status st = server_ ? redis::supportedServer(*server_) : Status{};
  if (st) {
    if (!refusal_.empty())
      kLog.info("The local server is supported now", {{"server", server_->str()}});
    refusal_.clear();
    return true;
  }
  if (st.error().message != refusal_) {
    refusal_ = st.error().message;
    activity_.errors.add(ErrorKind::UnsupportedServer);
    kLog.error(
        "The local server is too old: the agent creates, heals, hands over and moves "
        "nothing until it is upgraded (probes and metrics are still served)",
        {{"err", refusal_}});
  }
  return false;
}

void ServerGate::describe(state::StateView& view) const {
  view.server = server_;
  view.unsupported_server = refusal_;
}

}  // namespace agent::app
