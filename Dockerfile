# redis-cluster-agent image: the agent only (Redis runs from the official redis image in its own
# container). Build: podman build -t redis-cluster-agent .   (or docker build)
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ meson ninja-build pkg-config cmake \
      libhiredis-dev libcpp-httplib-dev prometheus-cpp-dev libspdlog-dev libfmt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY agent agent
RUN meson setup /build --buildtype=release -Dtests=disabled -De2e_tests=disabled \
 && meson compile -C /build \
 && strip /build/agent/redis-cluster-agent /build/agent/redis-cluster-agent-handover

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhiredis0.14 libcpp-httplib0.11 \
      libprometheus-cpp-core1.0 libspdlog1.10 libfmt9 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/agent/redis-cluster-agent /usr/local/bin/redis-cluster-agent
# Static preStop client; `run` copies it into the runtime dir shared with the redis container.
COPY --from=build /build/agent/redis-cluster-agent-handover /usr/local/bin/redis-cluster-agent-handover
USER 65532:65532
EXPOSE 9839
ENTRYPOINT ["/usr/local/bin/redis-cluster-agent"]
CMD ["run"]
