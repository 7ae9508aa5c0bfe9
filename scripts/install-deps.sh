#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the local StatefulSet need.
# Idempotent: packages already present are skipped by apt-get. Needs root (or sudo).
set -euo pipefail

build_pkgs=(
  g++ meson ninja-build pkg-config cmake
  libhiredis-dev libcpp-httplib-dev prometheus-cpp-dev libspdlog-dev libfmt-dev doctest-dev
  clang-format clang-tidy
)
runtime_test_pkgs=(
  redis-server redis-tools            # the real Redis 7.0.15 every end-to-end test runs against
  python3 python3-pytest python3-redis python3-yaml
  prometheus                          # promtool and a real Prometheus server for the metrics tests
  prometheus-redis-exporter           # baseline for the metrics benchmark
  nftables                            # makes a dead pod's address silent (no RST) in tests
  util-linux iproute2 procps unzip
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${build_pkgs[@]}" "${runtime_test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# policy-rc.d keeps the packages' own services (redis-server, prometheus) from being started:
# tests start their own instances on loopback addresses.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
  trap '"${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
