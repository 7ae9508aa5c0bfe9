// SPDX-License-Identifier: Apache-2.0
#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
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

// Text values are quoted like Go's %q when they contain spaces or quotes, so that a line still
// splits cleanly into key=value pairs.
void appendTextValue(std::string& out, const Field& f) {
  if (!f.quoted || !needsQuotes(f.value)) {
    out += f.value;
    return;
  }
  out += '"';
  out += jsonEscape(f.value);
  out += '"';
}

size_t utf8Length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xe) return 3;
  if ((c >> 3) == 0x1e) return 4;
  return 0;
}

bool validContinuation(std::string_view s, size_t i, size_t len) {
  if (i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
  }
  return true;
}

}  // namespace

std::string jsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t len = utf8Length(c);
      if (len == 0 || !validContinuation(s, i, len)) {
        out += "\xef\xbf\xbd";
        ++i;
        continue;
      }
      out.append(s.substr(i, len));
      i += len;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out;
}

std::string renderPayload(Format format, std::string_view message, Fields fields) {
  std::string out;
  if (format == Format::Json) {
    out += "\"msg\":\"" + jsonEscape(message) + "\"";
    for (const Field& f : fields) {
      out += ",\"" + jsonEscape(f.key) + "\":";
      out += f.quoted ? "\"" + jsonEscape(f.value) + "\"" : f.value;
    }
    return out;
  }
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
