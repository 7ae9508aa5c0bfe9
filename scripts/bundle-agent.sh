#!/bin/sh
# Makes a self-contained agent tree: PREFIX/bin/redis-cluster-agent plus every shared library it
# loads, glibc's dynamic loader included, in PREFIX/lib. The binary's ELF interpreter is
# PREFIX/lib/ld-linux-*.so.* and its RPATH is $ORIGIN/../lib, so the tree runs in any Linux
# container once mounted at PREFIX: the agent image, and the official redis image (Debian or
# Alpine/musl) where the chart shares it through an emptyDir for the preStop handover.
# The agent image is FROM scratch and holds nothing else, so whatever the binary links (libssl
# and libcrypto included, for TLS) must come from here: the tree is checked below with its own
# loader, and the build fails if any library would be looked up outside PREFIX.
# Usage: bundle-agent.sh BINARY PREFIX     (needs ldd, patchelf, strip; run in the build stage)
set -eu
binary=$1
prefix=$2
mkdir -p "$prefix/bin" "$prefix/lib"
cp "$binary" "$prefix/bin/redis-cluster-agent"
strip --strip-unneeded "$prefix/bin/redis-cluster-agent"

interp=$(patchelf --print-interpreter "$prefix/bin/redis-cluster-agent")
# Libraries by soname, copied as plain files (no symlinks: `cp -R` in an init container copies
# the tree as it is). ldd lists the whole closure, transitive dependencies included.
ldd "$prefix/bin/redis-cluster-agent" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' |
  while read -r soname path; do
    cp -L "$path" "$prefix/lib/$soname"
  done
cp -L "$interp" "$prefix/lib/$(basename "$interp")"
strip --strip-unneeded "$prefix"/lib/*.so* 2>/dev/null || true

# DT_RPATH (not RUNPATH): it also applies to the libraries' own dependencies (libssl of
# cpp-httplib), so nothing is looked up in the container's /lib.
patchelf --set-interpreter "$prefix/lib/$(basename "$interp")" \
  --set-rpath '$ORIGIN/../lib' --force-rpath "$prefix/bin/redis-cluster-agent"
chmod 0755 "$prefix/bin/redis-cluster-agent" "$prefix"/lib/*

# Every library the bundled loader resolves must be one of the tree's own (PREFIX/bin/../lib).
loader="$prefix/lib/$(basename "$interp")"
resolved=$("$loader" --list "$prefix/bin/redis-cluster-agent")
outside=$(printf '%s\n' "$resolved" | awk -v p="$prefix/" '$2 == "=>" && index($3, p) != 1')
if [ -n "$outside" ]; then
  printf 'bundle-agent.sh: libraries outside %s:\n%s\n' "$prefix" "$outside" >&2
  exit 1
fi
printf '%s\n' "$resolved" | awk '$2 == "=>" {print "bundled " $1}'
"$prefix/bin/redis-cluster-agent" version
du -sh "$prefix" | awk '{print "bundle size " $1}'
