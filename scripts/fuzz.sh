#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang 14 in build-fuzz and runs them.
#   scripts/fuzz.sh --build-only      build only (CI then runs `meson test --suite fuzz`)
#   scripts/fuzz.sh [SECONDS]         every target at once for SECONDS each (default 600),
#                                     logs and final stats in build-fuzz/fuzz-logs/
# A finding is saved in build-fuzz/tests/fuzz/corpus/findings-<target>/ and fails the run;
# replay it with build-fuzz/tests/fuzz/<target>_fuzz <file>.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d build-fuzz ]; then
  CXX=clang++-14 meson setup build-fuzz -Dfuzz=enabled -Dtests=disabled -De2e_tests=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false
fi
targets=$(meson introspect build-fuzz --targets | /usr/bin/python3 -c \
  'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin) if t["name"].endswith("_fuzz")))')
# shellcheck disable=SC2086
meson compile -C build-fuzz $targets
[ "${1:-}" = "--build-only" ] && exit 0
seconds=${1:-600}
mkdir -p build-fuzz/fuzz-logs
FUZZ_SECONDS=$seconds meson test -C build-fuzz --suite fuzz --num-processes 8 \
  --logbase fuzz-long
for t in $targets; do
  name=${t%_fuzz}
  log=build-fuzz/meson-logs/fuzz-long.txt
  printf '%-14s ' "$name"
  awk -v n="$name" '$0 ~ "^test: +"n"$" {on=1} on && /stat::(number_of_executed_units|new_units_added|peak_rss_mb)/ {printf "%s ", $0} on && /^=====/ && seen++ {exit}' "$log"
  echo
done
