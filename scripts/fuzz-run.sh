#!/usr/bin/env bash
# One libFuzzer target for FUZZ_SECONDS (default 20): fuzz-run.sh EXE WORK_CORPUS SEED_DIR...
# New inputs go to WORK_CORPUS (the seeds in the tree are never written); a crash, a leak, a
# timeout (> 10 s for one input) or more than 1 GiB of RSS is a finding (exit 1: libFuzzer's
# default 77 would read as a skip to meson): the input is saved in
# WORK_CORPUS/../findings-<target>/ and the script fails. Prints libFuzzer's closing stats.
set -euo pipefail
exe=$1 work=$2
shift 2
seconds=${FUZZ_SECONDS:-20}
mkdir -p "$work" "$work/../findings-$(basename "$work")"
seeds=()
for d in "$@"; do [ -d "$d" ] && seeds+=("$d"); done
exec "$exe" "$work" "${seeds[@]}" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
  -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/../findings-$(basename "$work")/"
