// SPDX-License-Identifier: Apache-2.0
#include "config/shape.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>

#include "common/text.h"
#include "config/config.h"

namespace agent::config {

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<int> number(std::string_view key, std::string_view value, int lo, int hi) {
  int v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || v < lo ||
      v > hi) {
    return fail(Errc::Invalid,
                text::concat({"shape: '", key, "' needs a whole number from ", std::to_string(lo),
                              " to ", std::to_string(hi), ", not '", value, "'"}));
  }
  return v;
}

// Applies one "key: value" line.
Status parseLine(std::string_view line, std::optional<int>& nodes, std::optional<int>& replicas) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return fail(Errc::Invalid, text::concat({"shape: '", line, "' is not 'key: value'"}));
  }
  std::string_view key = trimmed(line.substr(0, colon));
  std::string_view value = trimmed(line.substr(colon + 1));
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  std::optional<int>* into = key == "nodes" ? &nodes : key == "replicas" ? &replicas : nullptr;
  if (into == nullptr) {
    return fail(Errc::Invalid,
                text::concat({"shape: unknown key '", key, "' (known: nodes, replicas)"}));
  }
  if (into->has_value()) {
    return fail(Errc::Invalid, text::concat({"shape: '", key, "' is given twice"}));
  }
  auto n = key == "nodes" ? number(key, value, 1, 1000) : number(key, value, 0, 100);
  if (!n) return n.error();
  *into = *n;
  return {};
}

}  // namespace

Result<Shape> parseShape(std::string_view text) {
  std::optional<int> nodes;
  std::optional<int> replicas;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trimmed(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (Status st = parseLine(line, nodes, replicas); !st) return st.error();
  }
  if (!nodes || !replicas) {
    return fail(Errc::Invalid, "shape: both 'nodes' and 'replicas' are required");
  }
  Shape s{*nodes, *replicas};
  if (s.masters() < 3) {
    return fail(Errc::Invalid,
                text::concat({"shape: ", describeShape(s),
                              " gives fewer than 3 masters; Redis Cluster needs at least 3"}));
  }
  return s;
}

Result<Shape> readShapeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    return fail(err == ENOENT ? Errc::NotFound : Errc::Io,
                text::concat({"cannot read ", path, ": ", std::strerror(err)}));
  }
  std::string text(kMaxShapeFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxShapeFileBytes) {
    return fail(Errc::Invalid, text::concat({path, " is larger than a shape file can be"}));
  }
  auto shape = parseShape(text);
  if (!shape) return fail(Errc::Invalid, text::concat({path, ": ", shape.error().message}));
  return shape;
}

std::string describeShape(const Shape& shape) {
  return text::concat({std::to_string(shape.nodes), " nodes, ", std::to_string(shape.replicas),
                       " replica(s) per master (", std::to_string(shape.masters()), " masters)"});
}

Shape shapeOf(const Config& config) {
  return {config.cluster_nodes, config.cluster_replicas};
}

void applyShape(Config& config, const Shape& shape) {
  config.cluster_nodes = shape.nodes;
  config.cluster_replicas = shape.replicas;
}

}  // namespace agent::config
