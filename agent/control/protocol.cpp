// SPDX-License-Identifier: Apache-2.0
#include "control/protocol.h"

#include <array>
#include <utility>

#include "common/text.h"

namespace agent::control {

namespace {

constexpr std::string_view kHandover = "handover";
constexpr std::string_view kTimeoutKey = "timeout_ms=";

constexpr std::array<std::pair<LineKind, std::string_view>, 4> kKinds = {{
    {LineKind::Step, "step"},
    {LineKind::Done, "done"},
    {LineKind::Skipped, "skipped"},
    {LineKind::Failed, "failed"},
}};

}  // namespace

std::string renderRequest(const Request& request) {
  return std::string(kHandover) + " " + std::string(kTimeoutKey) +
         std::to_string(request.timeout_ms) + "\n";
}

Result<Request> parseRequest(std::string_view line) {
  auto words = text::splitWords(text::trim(line));
  if (words.size() != 2 || words[0] != kHandover || !text::startsWith(words[1], kTimeoutKey)) {
    return fail(Errc::Invalid, "expected 'handover timeout_ms=<n>'");
  }
  auto ms = text::parseInt(words[1].substr(kTimeoutKey.size()));
  if (!ms || *ms <= 0) return fail(Errc::Invalid, "timeout_ms must be a positive number");
  return Request{*ms};
}

const char* lineKindName(LineKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name.data();
  }
  return "step";
}

std::string renderLine(LineKind kind, std::string_view text) {
  std::string out = lineKindName(kind);
  out += ' ';
  for (char ch : text) out += (ch == '\n' || ch == '\r') ? ' ' : ch;
  out += '\n';
  return out;
}

std::optional<Line> parseLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  size_t space = line.find(' ');
  std::string_view word = line.substr(0, space);
  for (const auto& [kind, name] : kKinds) {
    if (word == name) {
      return Line{kind, space == std::string_view::npos ? "" : std::string(line.substr(space + 1))};
    }
  }
  return std::nullopt;
}

}  // namespace agent::control
