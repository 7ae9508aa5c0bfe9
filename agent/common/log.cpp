// SPDX-License-Identifier: Apache-2.0
#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>

namespace agent::log {

namespace {

std::atomic<Format> g_format{Format::Text};
std::atomic<Level> g_level{Level::Info};

spdlog::level::level_enum toSpd(Level level) {
  switch (level) {
    case Level::Trace: return spdlog::level::trace;
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// One shared stdout sink: stdout_sink_mt flushes after every line, which is what `kubectl logs`
// needs to show the line that explains a crash.
std::shared_ptr<spdlog::sinks::sink> sharedSink() {
  static auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  return sink;
}

std::string patternFor(Format format) {
  if (format == Format::Json) {
    return R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v})";
  }
  return "%Y-%m-%dT%H:%M:%S.%fZ %-5l %n: %v";
}

std::shared_ptr<spdlog::logger> spdLogger(const std::string& name) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, sharedSink());
  logger->set_pattern(patternFor(g_format.load()), spdlog::pattern_time_type::utc);
  logger->set_level(toSpd(g_level.load()));
  spdlog::register_logger(logger);
  return logger;
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

using Json = nlohmann::ordered_json;

// A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD.
std::string jsonString(std::string_view s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Unquoted fields hold what the Field constructors wrote: an integer, true or false.
Json jsonValue(const Field& f) {
  if (f.quoted) return f.value;
  Json parsed = Json::parse(f.value, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json(f.value) : parsed;
}

// Text values are quoted like Go's %q when they contain spaces or quotes, so that a line still
// splits cleanly into key=value pairs.
void appendTextValue(std::string& out, const Field& f) {
  out += !f.quoted || !needsQuotes(f.value) ? f.value : jsonString(f.value);
}

std::string renderJson(std::string_view message, Fields fields) {
  Json event = Json::object();
  event["msg"] = message;
  for (const Field& f : fields) event[std::string(f.key)] = jsonValue(f);
  std::string out = event.dump(-1, ' ', false, Json::error_handler_t::replace);
  return out.substr(1, out.size() - 2);  // the pattern wraps the members in its own braces
}

}  // namespace

std::string renderPayload(Format format, std::string_view message, Fields fields) {
  if (format == Format::Json) return renderJson(message, fields);
  std::string out;
  // One event, one line: a newline inside a message would split it for `kubectl logs`.
  for (char c : message) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    appendTextValue(out, f);
  }
  return out;
}

void init(Format format, Level level) {
  g_format = format;
  g_level = level;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->set_pattern(patternFor(format), spdlog::pattern_time_type::utc);
    l->set_level(toSpd(level));
  });
}

Logger::Logger(std::string name) : name_(std::move(name)) {}

bool Logger::enabled(Level level) const {
  return level >= g_level.load();
}

void Logger::log(Level level, std::string_view msg, Fields fields) const {
  if (!enabled(level)) return;
  spdLogger(name_)->log(toSpd(level), "{}", renderPayload(g_format.load(), msg, fields));
}

}  // namespace agent::log
