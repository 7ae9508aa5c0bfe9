// SPDX-License-Identifier: Apache-2.0
// Puts the handover client where the redis container can run it: the agent image ships the
// static client beside the agent binary, and the agent copies it into the runtime dir, the
// volume both containers mount. The client then always matches the agent that answers it.
#pragma once

#include <string>

#include "common/result.h"

namespace agent::control {

// File name of the static client beside the agent binary, and its name in the runtime dir.
inline constexpr const char* kClientBinary = "redis-cluster-agent-handover";
inline constexpr const char* kInstalledClient = "handover";

// Mode of a runtime dir the agent creates itself: the agent's user and group (the redis
// container shares the group through the pod's fsGroup) may enter it; nobody else may.
inline constexpr unsigned kRuntimeDirMode = 0770;

// Makes sure `runtime_dir` exists, so the socket and the client have a home even without the
// emptyDir of the chart (a plain process, a manifest without that volume). A missing directory
// is created with kRuntimeDirMode (missing parents 0755, less the umask); an existing one is left
// as it is, whoever made it. Errc::Io when it cannot be created or is not a directory.
Status ensureRuntimeDir(const std::string& runtime_dir);

// Copies `<dir of this executable>/redis-cluster-agent-handover` to `<runtime_dir>/handover`
// (mode 0755, atomically). Returns the installed path; Errc::NotFound when there is no client
// beside the executable, Errc::Io when it cannot be copied.
Result<std::string> installClient(const std::string& runtime_dir);

}  // namespace agent::control
