# Stands in for the official valkey image (valkey/valkey:8.0) in CI, which has no registry to
# pull it from: Debian's valkey 8.0.1 from bookworm-backports (the version the project tests)
# with the official image's conventions the chart relies on: valkey-server and valkey-cli on
# PATH, sh and timeout (liveness probe), /data. Only the two valkey packages come from
# backports, from the same mirror as the rest. The chart's securityContext runs it as 999:999,
# as it does the official image.
FROM debian:bookworm-slim
RUN mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources) \
 && printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" > /etc/apt/sources.list.d/bookworm-backports.sources \
 && apt-get update \
 && apt-get install -y --no-install-recommends valkey-server/bookworm-backports \
      valkey-tools/bookworm-backports \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown 999:999 /data
WORKDIR /data
EXPOSE 6379
CMD ["valkey-server"]
