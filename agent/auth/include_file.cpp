// SPDX-License-Identifier: Apache-2.0
#include "auth/include_file.h"

#include <fmt/format.h>
#include <cctype>
#include <vector>

#include "common/text.h"

namespace agent::auth {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char unescape(char c) {
  switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return c;
  }
}

// One double-quoted token starting at s[i] == '"'; advances i past it. nullopt when unclosed.
std::optional<std::string> readDoubleQuoted(std::string_view s, size_t& i) {
  std::string out;
  for (++i; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      ++i;
      return out;
    }
    if (c != '\\' || i + 1 >= s.size()) {
      out += c;
      continue;
    }
    if (s[i + 1] == 'x' && i + 3 < s.size() && hexValue(s[i + 2]) >= 0 && hexValue(s[i + 3]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 2]) * 16 + hexValue(s[i + 3]));
      i += 3;
    } else {
      out += unescape(s[++i]);
    }
  }
  return std::nullopt;
}

// One single-quoted token (only \' is an escape). nullopt when unclosed.
std::optional<std::string> readSingleQuoted(std::string_view s, size_t& i) {
  std::string out;
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '\'') {
      out += s[++i];
    } else if (s[i] == '\'') {
      ++i;
      return out;
    } else {
      out += s[i];
    }
  }
  return std::nullopt;
}

// The line split the way redis.conf's parser splits it; nullopt for unbalanced quotes.
std::optional<std::vector<std::string>> splitArgs(std::string_view s) {
  std::vector<std::string> args;
  size_t i = 0;
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) != 0) ++i;
    if (i >= s.size()) return args;
    std::optional<std::string> tok;
    if (s[i] == '"') {
      tok = readDoubleQuoted(s, i);
    } else if (s[i] == '\'') {
      tok = readSingleQuoted(s, i);
    } else {
      size_t start = i;
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) == 0) ++i;
      tok = std::string(s.substr(start, i - start));
    }
    if (!tok) return std::nullopt;
    args.push_back(std::move(*tok));
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool isAuthDirective(std::string_view line) {
  auto words = text::splitWords(line);
  if (words.empty()) return false;
  auto name = lower(std::string(words[0]));
  return name == "requirepass" || name == "masterauth";
}

}  // namespace

std::string quoteConfigValue(std::string_view value) {
  std::string quoted = "\"";
  for (unsigned char ch : value) {
    if (ch == '"' || ch == '\\') {
      quoted += '\\';
      quoted += static_cast<char>(ch);
    } else if (ch < 0x20 || ch >= 0x7f) {
      quoted += fmt::format("\\x{:02x}", ch);
    } else {
      quoted += static_cast<char>(ch);
    }
  }
  quoted += '"';
  return quoted;
}

IncludeAuth readIncludeAuth(std::string_view text) {
  IncludeAuth out;
  for (auto line : text::splitLines(text)) {
    auto args = splitArgs(line);
    if (!args || args->size() != 2 || (*args)[0].empty() || (*args)[0][0] == '#') continue;
    auto name = lower((*args)[0]);
    if (name == "requirepass") out.requirepass = (*args)[1];
    if (name == "masterauth") out.masterauth = (*args)[1];
  }
  return out;
}

std::string withIncludeAuth(std::string_view text, const IncludeAuth& auth) {
  std::vector<std::string_view> kept;
  for (auto line : text::splitLines(text)) {
    if (!isAuthDirective(line)) kept.push_back(line);
  }
  while (!kept.empty() && text::trim(kept.back()).empty()) kept.pop_back();
  std::string out;
  for (auto line : kept) {
    out += line;
    out += '\n';
  }
  if (auth.requirepass) out += "requirepass " + quoteConfigValue(*auth.requirepass) + "\n";
  if (auth.masterauth) out += "masterauth " + quoteConfigValue(*auth.masterauth) + "\n";
  return out;
}

}  // namespace agent::auth
