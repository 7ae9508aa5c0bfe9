#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format 14 would write.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'agent/*.cpp' 'agent/*.h' 'tests/*.cpp' 'tests/*.h')
clang-format --dry-run --Werror $files
echo "clang-format: $(echo "$files" | wc -l) files clean"
