#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the local StatefulSet need.
# Idempotent: packages already present are skipped by apt-get. Needs root (or sudo).
set -euo pipefail

build_pkgs=(
  g++ meson ninja-build pkg-config cmake
  libhiredis-dev libcpp-httplib-dev prometheus-cpp-dev libspdlog-dev libfmt-dev doctest-dev
  libssl-dev nlohmann-json3-dev
  clang-format clang-tidy clang
  libclang-rt-14-dev                  # libFuzzer and the sanitizer runtimes for tests/fuzz
)
# From bookworm-backports (added below): Valkey 8.0.1, the second server every end-to-end suite
# can run against.
backports_pkgs=(valkey-server valkey-tools)
runtime_test_pkgs=(
  redis-server redis-tools            # the real Redis 7.0.15 every end-to-end test runs against
  python3 python3-pytest python3-redis python3-yaml
  prometheus                          # promtool and a real Prometheus server for the metrics tests
  prometheus-redis-exporter           # baseline for the metrics benchmark
  nftables                            # makes a dead pod's address silent (no RST) in tests
  openssl                             # makes the CAs and certificates of the TLS tests
  util-linux iproute2 procps unzip
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${build_pkgs[@]}" "${runtime_test_pkgs[@]}"; do
  installed "$p" || missing+=("$p")
done
# pkg/suite: only these packages come from backports; everything else stays on bookworm.
for p in "${backports_pkgs[@]}"; do
  installed "$p" || missing+=("$p/bookworm-backports")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
backports=/etc/apt/sources.list.d/bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
    "${sudo_cmd[@]}" tee "$backports" >/dev/null
fi
"${sudo_cmd[@]}" apt-get update -qq
# policy-rc.d keeps the packages' own services (redis-server, prometheus) from being started:
# tests start their own instances on loopback addresses.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
  trap '"${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
