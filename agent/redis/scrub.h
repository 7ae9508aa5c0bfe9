// SPDX-License-Identifier: Apache-2.0
// Secrets out of error texts. Redis quotes the arguments of a command it does not know: with
// `rename-command AUTH ""` the answer to AUTH is "ERR unknown command 'AUTH', with args
// beginning with: '<password>'", and such texts travel to logs, status and probes. The
// connection layer passes every error text through scrubSecrets before it leaves the module.
#pragma once

#include <string>
#include <vector>

namespace agent::redis {

inline constexpr const char* kRedacted = "<redacted>";

// Replaces every occurrence of each secret with kRedacted. Redis cuts the quoted arguments at
// 128 bytes, so a run of at least 8 bytes that begins a secret is replaced too; and since it
// turns CR and LF in error texts into spaces, a secret is also looked for in that form.
std::string scrubSecrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace agent::redis
