#!/usr/bin/env bash
# Makes docker.io/library/debian:bookworm-slim locally when podman does not have it: there is
# no container registry here, so the Dockerfile's base is built with debootstrap from the
# machine's own Debian mirror and loaded with `podman import` under the official name. The
# trim follows the official slim image (docs, man pages, locales, apt caches, docker-clean),
# see shared/docs/container-builds.md §2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/podman-env.sh"

image=docker.io/library/debian:bookworm-slim
if podman image exists "$image"; then
  echo "base image $image present"
  exit 0
fi

sources=/etc/apt/sources.list.d/debian.sources
mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources")
work=$(mktemp -d /tmp/rca-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log"; exit 1; }

rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/etc/apt/sources.list
# The image's apt reaches the same mirrors as this machine (bookworm, -updates, -security).
cp "$sources" "$root/etc/apt/sources.list.d/debian.sources"
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
echo 'Acquire::GzipIndexes "true";' > "$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/docker-no-languages"
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
  'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
  'path-exclude /usr/share/locale/*' > "$root/etc/dpkg/dpkg.cfg.d/docker"
echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
  "$root"/usr/share/lintian/*
: > "$root/etc/machine-id"

tar -C "$root" -c . | podman import --change 'CMD ["bash"]' - "$image" >/dev/null
echo "imported $image ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}'))"
