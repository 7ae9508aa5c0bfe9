#!/usr/bin/env bash
# Builds the images the packaging tests run, with podman and no registry: the base image of the
# build stages (made by make-base-image.sh when absent), the agent image from the repository's
# Dockerfile as it is (its runtime stage is FROM scratch), and a Debian-based stand-in for the
# official redis image, and, given a third tag, one for the official valkey image. Prints the
# agent image's size.
# Usage: build-images.sh AGENT_TAG REDIS_TAG [VALKEY_TAG]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/podman-env.sh"
agent_tag=$1
redis_tag=$2
valkey_tag=${3:-}

"$here/make-base-image.sh"

t0=$(date +%s)
# --network host: RUN apt-get reaches the Debian mirror without a bridge network.
podman build --network host --pull=never -q -t "$agent_tag" -f "$repo/Dockerfile" "$repo" >/dev/null
t1=$(date +%s)
podman build --network host --pull=never -q -t "$redis_tag" -f "$here/redis-standin.Dockerfile" "$here" >/dev/null
t2=$(date +%s)

agent=$(podman image inspect --format '{{.Size}}' "$agent_tag")
awk -v a="$agent" -v tag="$agent_tag" -v s=$((t1 - t0)) 'BEGIN {
  printf "agent image %s: %.1f MB (FROM scratch: the agent, its libraries, /etc), built in %ds\n",
    tag, a / 1e6, s }'
echo "redis stand-in $redis_tag built in $((t2 - t1))s"
if [ -n "$valkey_tag" ]; then
  podman build --network host --pull=never -q -t "$valkey_tag" \
    -f "$here/valkey-standin.Dockerfile" "$here" >/dev/null
  echo "valkey stand-in $valkey_tag built in $(($(date +%s) - t2))s"
fi
