// SPDX-License-Identifier: Apache-2.0
// The option table behind config::parse(): one row per flag with its variable, default, help
// and commands. Internal to config/; everything else uses config.h.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace agent::config {

using Setter = std::function<Status(Config&, std::string_view)>;

struct Option {
  std::string_view flag;      // without "--"
  std::string_view env;       // environment variable; empty = flag only
  std::string_view value;     // placeholder in help; empty for boolean switches
  std::string_view fallback;  // the default, set by Config() before environment and flags
  std::string_view note;      // what the default means ("0: no wait"; without a fallback: "none")
  std::string_view help;
  std::vector<Command> commands;
  Setter set;
  bool documented = true;  // false: testing only, left out of the README
};

const std::vector<Option>& options();
bool appliesTo(const Option& option, Command command);
const Option* findFlag(std::string_view flag);
const Option* findEnv(std::string_view env);

// "invalid --flag 'value': why", the one shape of every value error.
Error invalid(std::string_view flag, std::string_view value, std::string_view why);

}  // namespace agent::config
