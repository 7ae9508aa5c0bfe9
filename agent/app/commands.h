// SPDX-License-Identifier: Apache-2.0
// Entry point of the binary: parses the configuration, sets up logging and signals, and runs
// one command. main.cpp only calls mainEntry().
#pragma once

#include <string>
#include <vector>

namespace agent::app {

int mainEntry(int argc, char** argv);

// The process's environment ("NAME=value"), for config::parse.
std::vector<std::string> environment();

// Exit codes, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed (e.g. refused to rewrite)
inline constexpr int kExitUsage = 2;    // bad flags or environment

}  // namespace agent::app
