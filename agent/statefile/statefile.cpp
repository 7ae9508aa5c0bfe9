// SPDX-License-Identifier: Apache-2.0
#include "statefile/statefile.h"

#include <fmt/format.h>

#include "common/files.h"
#include "common/text.h"

namespace agent::statefile {

std::string pathBeside(const std::string& nodes_conf_path, std::string_view name) {
  return files::dirName(nodes_conf_path) + "/" + std::string(name);
}

std::optional<int64_t> Entry::integer(size_t i) const {
  if (i >= values.size()) return std::nullopt;
  return text::parseInt(values[i]);
}

Error Entry::invalid(std::string_view why) const {
  return {Errc::Invalid, fmt::format("line {}: {}: \"{}\"", line, why, text)};
}

std::vector<Entry> parse(std::string_view text) {
  std::vector<Entry> out;
  size_t line_no = 0;
  for (std::string_view line : text::splitLines(text)) {
    ++line_no;
    std::string_view trimmed = text::trim(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    auto words = text::splitWords(trimmed);
    Entry e{std::string(words[0]), {}, line_no, std::string(trimmed)};
    for (size_t i = 1; i < words.size(); ++i) e.values.emplace_back(words[i]);
    // Only "key:value" with both parts: "key:" or ":value" stay one word (found by fuzzing:
    // they did not read back the same after a render).
    if (size_t colon = e.key.find(':');
        words.size() == 1 && colon != std::string::npos && colon > 0 && colon + 1 < e.key.size()) {
      e.values.push_back(e.key.substr(colon + 1));
      e.key.resize(colon);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string render(std::string_view header, const std::vector<Entry>& entries) {
  std::string out;
  for (std::string_view line : text::splitLines(header)) {
    if (!line.empty()) out += fmt::format("# {}\n", line);
  }
  for (const auto& e : entries) {
    out += e.key;
    for (const auto& v : e.values) out += " " + v;
    out += "\n";
  }
  return out;
}

Result<std::optional<std::string>> read(const std::string& path) {
  auto text = files::read(path);
  if (text) return std::optional<std::string>(std::move(*text));
  if (text.error().code == Errc::NotFound) return std::optional<std::string>();
  return text.error();
}

Status write(const std::string& path, std::string_view text, mode_t mode) {
  return files::writeAtomically(path, text, mode);
}

Status remove(const std::string& path) {
  return files::remove(path);
}

}  // namespace agent::statefile
