# redis-cluster-agent image: the agent only; Redis runs from the official redis image in its own
# container. Build: podman build -t redis-cluster-agent .   (or docker build)
#
# The runtime stage holds one self-contained tree, /opt/redis-cluster-agent: the binary plus
# every library it loads, glibc's loader included (scripts/bundle-agent.sh), and the statically
# linked handover client, which `run` copies into the runtime dir the redis container shares so
# its preStop can run it in the official Debian or Alpine image. Nothing in the image is written
# at run time, so it runs
# with a read-only root filesystem, as any non-root user (default 65532; the chart uses 999,
# the redis user, so files shared with Redis have one owner).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ meson ninja-build pkg-config cmake patchelf \
      libhiredis-dev libcpp-httplib-dev prometheus-cpp-dev libspdlog-dev libfmt-dev \
      nlohmann-json3-dev \
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

FROM debian:bookworm-slim
COPY --from=build /opt/redis-cluster-agent /opt/redis-cluster-agent
ENV PATH=/opt/redis-cluster-agent/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER 65532:65532
EXPOSE 9839
ENTRYPOINT ["/opt/redis-cluster-agent/bin/redis-cluster-agent"]
CMD ["run"]
