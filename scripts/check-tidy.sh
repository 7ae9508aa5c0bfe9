#!/usr/bin/env bash
# clang-tidy 14 over the agent's sources with the project's .clang-tidy (warnings are errors).
# Needs a configured build directory for compile_commands.json (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json; run scripts/build.sh first" >&2; exit 2; }
jobs=$(nproc)
# Only the agent's own files: the tests follow the same style but use doctest macros that the
# bugprone checks misread.
run-clang-tidy -p "$build" -j "$jobs" -quiet "$PWD/agent/" >"$build/clang-tidy.log" 2>&1 || {
  grep -E "(warning|error):" "$build/clang-tidy.log" | sed 's/\x1b\[[0-9;]*m//g' | sort -u
  echo "clang-tidy: findings above (whole output: $build/clang-tidy.log)" >&2
  exit 1
}
echo "clang-tidy: $(grep -c '"file"' "$build/compile_commands.json") translation units in the build, agent/ clean"
