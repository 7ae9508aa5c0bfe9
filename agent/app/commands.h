// SPDX-License-Identifier: Apache-2.0
// Entry point of the binary: parses the configuration, sets up logging and signals, and runs
// one command. main.cpp only calls mainEntry().
#pragma once

namespace agent::app {

int mainEntry(int argc, char** argv);

// Exit codes, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed (e.g. refused to rewrite)
inline constexpr int kExitUsage = 2;    // bad flags or environment

}  // namespace agent::app
