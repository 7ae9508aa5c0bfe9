# Sourced by the packaging scripts: podman settings this kind of machine needs
# (shared/docs/container-builds.md): runc instead of crun (crun 1.8 rejects the hybrid cgroup
# layout), and container rlimits no higher than the sandbox's hard limits (no CAP_SYS_RESOURCE;
# podman caps its own nproc at 32768).
podman_env_setup() {
  local dir=${XDG_RUNTIME_DIR:-/tmp}/rca-podman
  mkdir -p "$dir"
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  if [ "$nofile" = unlimited ]; then nofile=1048576; fi
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  export CONTAINERS_CONF=$dir/containers.conf
  # Written aside and renamed: a podman of a concurrent run never reads half a file.
  cat > "$CONTAINERS_CONF.$$" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
CONF
  mv -f "$CONTAINERS_CONF.$$" "$CONTAINERS_CONF"
}
podman_env_setup
