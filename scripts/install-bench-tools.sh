#!/usr/bin/env bash
# Installs what only the benchmarks need (bench/README.md): python3-matplotlib draws their
# pictures. Not needed to build, test or run the agent, so CI does not install it.
set -euo pipefail
if dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q "install ok installed"; then
  echo "install-bench-tools: all packages present"
  exit 0
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-matplotlib
