"""What differs between Redis 7.0.15 and Valkey 8.0.1 where the agent looks (docs/servers.md).

Each claim of docs/servers.md about the two servers' answers is checked here on the real
binaries, so a server update that changes one fails this module instead of the agent in
production: INFO's names and versions, what answers while the dataset loads, error texts,
the RDB version each writes and which way replication works between them.
Addresses: 127.<the last network of the module's range, tests/lib/nets.py>.0.x.
"""
import os
import shutil
import subprocess

import pytest
import redis

import nets
from localsts import raw_command
from wait import wait_for

NET = f"127.{nets.last()}.0"
SERVERS = {"redis": ("redis-server", "Redis"), "valkey": ("valkey-server", "Valkey")}


@pytest.fixture(scope="module", autouse=True)
def _binaries():
    for binary, _ in SERVERS.values():
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} is not installed (scripts/install-deps.sh)")


class Server:
    def __init__(self, binary, d, ip, extra=""):
        self.binary, self.dir, self.ip = binary, d, ip
        os.makedirs(d, exist_ok=True)
        self.conf = os.path.join(d, "server.conf")
        with open(self.conf, "w") as f:
            f.write(f"bind {ip}\nbind-source-addr {ip}\nport 6379\ndir {d}\nsave \"\"\n"
                    f"appendonly no\nprotected-mode no\nlogfile {d}/server.log\n"
                    f"repl-diskless-sync-delay 0\nenable-debug-command yes\n{extra}")
        self.proc = None

    def start(self, wait=True):
        self.proc = subprocess.Popen([self.binary, self.conf])
        if wait:
            wait_for(f"{self.ip} answers", self.answers)

    def answers(self):
        try:
            return self.client().ping()
        except redis.BusyLoadingError:
            return True
        except redis.ConnectionError:
            assert self.proc.poll() is None, self.log()
            return False

    def client(self):
        return redis.Redis(host=self.ip, port=6379, socket_timeout=5, decode_responses=True)

    def raw(self, *args):
        return raw_command(self.client(), *args)

    def log(self):
        with open(os.path.join(self.dir, "server.log")) as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
def servers(tmp_path):
    started = []

    def make(kind, n, extra=""):
        s = Server(SERVERS[kind][0], str(tmp_path / f"{kind}{n}"), f"{NET}.{10 + n}", extra)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def test_info_names_the_server(servers):
    r, v = servers("redis", 0), servers("valkey", 1)
    r.start()
    v.start()
    ri, vi = r.client().info("server"), v.client().info("server")
    assert ri["redis_version"] == "7.0.15" and "valkey_version" not in ri
    assert "server_name" not in ri and ri["redis_mode"] == "standalone"
    # Valkey reports the Redis version it is compatible with under the old name.
    assert vi["redis_version"] == "7.2.4" and vi["valkey_version"] == "8.0.1"
    assert vi["server_name"] == "valkey"
    assert vi["server_mode"] == "standalone" and "redis_mode" not in vi


@pytest.mark.parametrize("kind", SERVERS)
def test_error_texts_are_the_same(servers, kind):
    """AUTH without a password, SETSLOT on a replica, FAILOVER on a master read the same on
    both (Valkey 8.0.1 still says "masters"); only the LOADING text (next test) names the
    server."""
    cluster = "cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 5000\n"
    primary, replica = servers(kind, 2, cluster), servers(kind, 3, cluster)
    primary.start()
    replica.start()
    primary.raw("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    primary_id = primary.raw("CLUSTER", "MYID")
    replica.raw("CLUSTER", "MEET", primary.ip, "6379")
    wait_for("met", lambda: primary_id in replica.raw("CLUSTER", "NODES"))
    replica.raw("CLUSTER", "REPLICATE", primary_id)
    with pytest.raises(redis.ResponseError, match="called without any password configured"):
        primary.raw("AUTH", "secret")
    with pytest.raises(redis.ResponseError, match="^Please use SETSLOT only with masters.$"):
        replica.raw("CLUSTER", "SETSLOT", "1", "NODE", primary_id)
    with pytest.raises(redis.ResponseError,
                       match="^You should send CLUSTER FAILOVER to a replica$"):
        primary.raw("CLUSTER", "FAILOVER")


@pytest.mark.parametrize("kind", SERVERS)
def test_what_answers_while_loading(servers, kind):
    """Redis 7.0 answers -LOADING to every CLUSTER command while it loads its dataset; Valkey 8
    answers CLUSTER MYID, INFO, NODES, SHARDS and SLOTS. Both answer INFO and ROLE."""
    s = servers(kind, 4, "cluster-enabled yes\ncluster-config-file nodes.conf\n")
    s.start()
    s.raw("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    s.raw("DEBUG", "POPULATE", "200000", "{t}key", "16")
    s.raw("SAVE")
    s.stop()
    # Slow loading down to seconds: a delay per key, and answers between small chunks.
    with open(s.conf, "a") as f:
        f.write("key-load-delay 20\nloading-process-events-interval-bytes 1024\n")
    s.start(wait=False)
    wait_for("loading", lambda: s.answers() and s.client().info("persistence")["loading"] == 1)
    name = SERVERS[kind][1]
    with pytest.raises(redis.BusyLoadingError, match=f"^{name} is loading the dataset in memory$"):
        s.raw("PING")
    cluster = [("CLUSTER", "MYID"), ("CLUSTER", "INFO"), ("CLUSTER", "NODES"),
               ("CLUSTER", "SHARDS"), ("CLUSTER", "SLOTS")]
    for args in cluster:
        if kind == "redis":
            with pytest.raises(redis.BusyLoadingError):
                s.raw(*args)
        else:
            assert s.raw(*args) is not None, args
    if kind == "valkey":
        assert "cluster_state:" in s.raw("CLUSTER", "INFO")
        assert len(s.raw("CLUSTER", "MYID")) == 40
    assert s.raw("ROLE")[0] == "master"
    assert s.client().info("persistence")["loading"] == 1  # still loading: the test saw it


def rdb_version(s):
    s.client().set("k", "v")
    s.raw("SAVE")
    with open(os.path.join(s.dir, "dump.rdb"), "rb") as f:
        return f.read(9)


def replicate(primary, replica):
    primary.client().set("direction", primary.binary)
    replica.raw("REPLICAOF", primary.ip, "6379")
    try:
        wait_for("in sync", lambda: replica.client().get("direction") == primary.binary, timeout=10)
        return True
    except AssertionError:  # not in sync within the timeout
        return False


def test_rdb_versions_and_the_only_replication_direction(servers):
    """Redis 7.0 writes RDB 10, Valkey 8 RDB 11; a Valkey replica syncs from a Redis 7.0
    primary, a Redis 7.0 replica never syncs from a Valkey primary (it cannot load RDB 11)."""
    r_primary, v_replica = servers("redis", 5), servers("valkey", 6)
    v_primary, r_replica = servers("valkey", 7), servers("redis", 8)
    for s in (r_primary, v_replica, v_primary, r_replica):
        s.start()
    assert rdb_version(r_primary) == b"REDIS0010"
    assert rdb_version(v_primary) == b"REDIS0011"
    assert replicate(r_primary, v_replica)
    assert "Loading RDB produced by Redis version 7.0.15" in v_replica.log()
    assert not replicate(v_primary, r_replica)
    assert r_replica.client().info("replication")["master_link_status"] == "down"
    assert "Can't handle RDB format version 11" in r_replica.log()
