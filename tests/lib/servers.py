"""The server a local StatefulSet runs: Debian's Redis 7.0.15 or Valkey 8.0.1 (Debian
bookworm-backports, scripts/install-deps.sh). Both take the redis.conf directives the local
StatefulSet writes and speak the same protocol; they differ in their binaries' names and in
what they say about themselves (docs/servers.md).

`RCA_SERVER=valkey` selects Valkey for every StatefulSet that does not name its server (the
end-to-end suites, `scripts/local-sts up`, `scripts/demo`); the default is redis.
"""
import os
import re
import shutil
import subprocess

ENV = "RCA_SERVER"


class Server:
    def __init__(self, name, binary, cli):
        self.name = name  # "redis" | "valkey"
        self.binary = binary  # e.g. redis-server
        self.cli = cli  # e.g. redis-cli; both read REDISCLI_AUTH

    def missing_tools(self):
        return [t for t in (self.binary, self.cli) if shutil.which(t) is None]

    def version(self):
        """"7.0.15" from `redis-server --version` ("Redis server v=7.0.15 sha=...")."""
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout
        m = re.search(r"\bv=(\d+\.\d+\.\d+)", out)
        return m.group(1) if m else "unknown"

    def __repr__(self):
        return f"Server({self.name})"


SERVERS = {
    "redis": Server("redis", "redis-server", "redis-cli"),
    "valkey": Server("valkey", "valkey-server", "valkey-cli"),
}


def server(name=None):
    """The Server called `name`, or the one RCA_SERVER selects (default redis)."""
    name = name or os.environ.get(ENV) or "redis"
    if name not in SERVERS:
        raise ValueError(f"{ENV}={name}: the servers are {', '.join(SERVERS)}")
    return SERVERS[name]
