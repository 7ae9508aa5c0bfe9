# redis-cluster-agent image: the agent only; Redis runs from the official redis (or valkey)
# image in its own container. Build: podman build -t redis-cluster-agent .   (or docker build)
#
# The runtime image is FROM scratch: one self-contained tree, /opt/redis-cluster-agent, holding
# the binary plus every library it loads, glibc's loader included (scripts/bundle-agent.sh), and
# the statically linked handover client, which `run` copies into the runtime dir the redis
# container shares so its preStop can run it in the official Debian or Alpine image. Beside it
# only three small files in /etc (below). No shell, no package manager: `kubectl exec <pod> -c
# agent -- redis-cluster-agent status` works (the binary is on PATH; the chart calls it by its
# absolute path). Nothing is written at run time, so it runs with a read-only root filesystem,
# as any non-root user (default 65532; the chart uses 999, the redis user, so files shared with
# Redis have one owner). No CA bundle: the agent talks to the cluster's own servers only, so
# TLS (when it comes) verifies against the CA mounted from the cluster's Secret.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ meson ninja-build pkg-config cmake patchelf \
      libhiredis-dev libcpp-httplib-dev prometheus-cpp-dev libspdlog-dev libfmt-dev \
      libssl-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY agent agent
# werror off here only: GCC 12 at -O3 reports false -Wrestrict positives inside libstdc++
# (GCC PR 105329); CI's own build keeps warnings as errors.
RUN meson setup /build --buildtype=release -Dwerror=false -Dtests=disabled -De2e_tests=disabled \
 && meson compile -C /build
COPY scripts/bundle-agent.sh /usr/local/bin/
RUN bundle-agent.sh /build/agent/redis-cluster-agent /opt/redis-cluster-agent
# The static preStop client (no libraries at all); `run` copies it into the runtime dir that the
# redis container shares, so the Debian and Alpine redis images can run it.
RUN strip -o /opt/redis-cluster-agent/bin/redis-cluster-agent-handover \
      /build/agent/redis-cluster-agent-handover

# /etc for the runtime image: the non-root user by name (for tools that look it up), and
# name lookups in /etc/hosts before DNS as in Debian (without nsswitch.conf glibc uses
# "dns [!UNAVAIL=return] files": /etc/hosts only when no DNS server answers at all).
RUN mkdir -p /rootfs/etc \
 && echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' > /rootfs/etc/passwd \
 && echo 'nonroot:x:65532:' > /rootfs/etc/group \
 && printf 'passwd: files\ngroup: files\nhosts: files dns\n' > /rootfs/etc/nsswitch.conf

FROM scratch
COPY --from=build /rootfs/ /
COPY --from=build /opt/redis-cluster-agent /opt/redis-cluster-agent
ENV PATH=/opt/redis-cluster-agent/bin
USER 65532:65532
EXPOSE 9839
ENTRYPOINT ["/opt/redis-cluster-agent/bin/redis-cluster-agent"]
CMD ["run"]
