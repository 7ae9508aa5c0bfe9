// SPDX-License-Identifier: Apache-2.0
// Logging: one line per event on stdout, as text for humans or as one JSON object per line for
// log pipelines. An event is a message plus key/value fields. Loggers are named after modules.
// Depends on spdlog and nlohmann-json (in log.cpp only).
#pragma once

#include <concepts>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace agent::log {

enum class Format { Text, Json };
enum class Level { Trace, Debug, Info, Warn, Error };

// One key/value field. Integers and booleans stay unquoted in JSON.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}

  std::string_view key;
  std::string value;
  bool quoted = true;
};
using Fields = std::initializer_list<Field>;

// Sets format and level for every logger. Call once, before any thread starts logging.
void init(Format format, Level level);
// Renders one event payload the way init() configured it (exposed for tests). JSON: the
// members of one object without its braces (the line's pattern adds time, level and logger),
// invalid UTF-8 replaced by U+FFFD so every line stays valid JSON, always one line.
std::string renderPayload(Format format, std::string_view message, Fields fields);

class Logger {
 public:
  explicit Logger(std::string name);
  void trace(std::string_view msg, Fields fields = {}) const { log(Level::Trace, msg, fields); }
  void debug(std::string_view msg, Fields fields = {}) const { log(Level::Debug, msg, fields); }
  void info(std::string_view msg, Fields fields = {}) const { log(Level::Info, msg, fields); }
  void warn(std::string_view msg, Fields fields = {}) const { log(Level::Warn, msg, fields); }
  void error(std::string_view msg, Fields fields = {}) const { log(Level::Error, msg, fields); }
  void log(Level level, std::string_view msg, Fields fields) const;
  bool enabled(Level level) const;

 private:
  std::string name_;
};

}  // namespace agent::log
