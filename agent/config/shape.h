// SPDX-License-Identifier: Apache-2.0
// The shape of the cluster (pods in the StatefulSet, replicas per master) from a small mounted
// file (--shape-file, a ConfigMap in the chart), so a change of size reaches running agents
// without a change of the pod template (which would restart every pod). The file overrides
// --cluster-nodes/--cluster-replicas; without it the flags stand. Format, one key per line
// (YAML-compatible):
//   nodes: 8
//   replicas: 1
// Blank lines and '#' comments are allowed; anything else is an error naming the line.
// Standard library only (agent_base).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agent::config {

struct Config;

struct Shape {
  int nodes = 0;
  int replicas = 0;
  int masters() const { return nodes / (replicas + 1); }
  bool operator==(const Shape& o) const { return nodes == o.nodes && replicas == o.replicas; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

// The largest shape file read; a longer one is not a shape file.
inline constexpr size_t kMaxShapeFileBytes = 4096;

// Parses and checks the file's text: both keys present, in range, at least 3 masters.
Result<Shape> parseShape(std::string_view text);
// Reads and parses `path` (Errc::NotFound when it does not exist).
Result<Shape> readShapeFile(const std::string& path);
// "8 nodes, 1 replica(s) per master (4 masters)", for logs and messages.
std::string describeShape(const Shape& shape);

Shape shapeOf(const Config& config);
void applyShape(Config& config, const Shape& shape);

}  // namespace agent::config
