# Stands in for the official redis image in CI, which has no registry to pull it from: Debian's
# redis 7.0.15 (the version the project tests) with the official image's conventions that the
# chart relies on: redis-server and redis-cli on PATH, sh and timeout (liveness probe), /data.
# The chart's securityContext runs it as 999:999, as it does the official image.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown 999:999 /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]
