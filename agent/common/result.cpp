// SPDX-License-Identifier: Apache-2.0
#include "common/result.h"

namespace agent {

const char* errcName(Errc code) {
  switch (code) {
    case Errc::Invalid: return "invalid";
    case Errc::NotFound: return "not_found";
    case Errc::Io: return "io";
    case Errc::Timeout: return "timeout";
    case Errc::Transport: return "transport";
    case Errc::Protocol: return "protocol";
    case Errc::Server: return "server";
    case Errc::Refused: return "refused";
  }
  return "unknown";
}

}  // namespace agent
