#!/usr/bin/python3
"""Regenerates the Valkey 8.0 nodes.conf fixtures from the local valkey-server (Debian
bookworm-backports 8.0.1).

Three six-node clusters, every node on loopback, built with valkey-cli --cluster create:
  - plain, on 127.<B>.0.11-16: fresh node, after create (master, replica), after a manual
    failover, a slot migrating and importing, then cluster-announce-hostname and
    cluster-announce-human-nodename, then cluster-announce-client-ipv4/ipv6 on top;
  - IPv6, every node on ::1 with its own port (22000 + 10 * <B> % 1000 + ordinal);
  - TLS only (port 0, tls-port, tls-cluster yes), on 127.<B>.1.11-16, certificates made with
    openssl in the temp dir.
<B> is RCA_TEST_NET_BASE (default 32). Every process is stopped by pid at the end.
Usage: /usr/bin/python3 tests/data/nodes_conf/generate_valkey80.py [OUTPUT_DIR]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import redis

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
BASE = int(os.environ.get("RCA_TEST_NET_BASE", "32"))
SERVER = "valkey-server"
CLI = "valkey-cli"
STARTED = []  # every Node, so main() stops them all even when a stage fails


class Node:
    def __init__(self, work, name, ip, port, extra=""):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.ip = ip
        self.port = port
        self.extra = extra
        self.tls = None  # (ca, cert, key) when the node speaks TLS only
        self.proc = None
        STARTED.append(self)

    def start(self):
        conf = os.path.join(self.dir, "valkey.conf")
        with open(conf, "w") as f:
            f.write(f"bind {self.ip}\nbind-source-addr {self.ip}\n"
                    f"cluster-enabled yes\ncluster-config-file {self.dir}/nodes.conf\n"
                    f"dir {self.dir}\ncluster-node-timeout 3000\nappendonly no\nsave \"\"\n"
                    f"protected-mode no\nlogfile {self.dir}/valkey.log\n{self.extra}")
            if not self.tls:
                f.write(f"port {self.port}\n")
        self.proc = subprocess.Popen([SERVER, conf])
        until(f"{self.ip}:{self.port} answers", self.answers)

    def answers(self):
        try:
            return self.client().ping()
        except redis.ConnectionError:
            assert self.proc.poll() is None, open(os.path.join(self.dir, "valkey.log")).read()
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def client(self):
        kw = {}
        if self.tls:
            kw = {"ssl": True, "ssl_ca_certs": self.tls[0], "ssl_certfile": self.tls[1],
                  "ssl_keyfile": self.tls[2]}
        return redis.Redis(host=self.ip, port=self.port, socket_timeout=5, decode_responses=True,
                           **kw)

    def cmd(self, *args):
        return self.client().execute_command(*args)

    def endpoint(self):
        return f"{self.ip}:{self.port}"

    def saved(self):
        """nodes.conf right after a forced save."""
        self.cmd("CLUSTER", "SAVECONFIG")
        with open(os.path.join(self.dir, "nodes.conf")) as f:
            return f.read()

    def snapshot(self, name):
        text = self.saved()
        with open(os.path.join(OUT, name), "w") as f:
            f.write(text)
        print(f"captured {name} from {self.endpoint()}")


def until(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


def create(nodes, cli_extra=()):
    subprocess.run([CLI, *cli_extra, "--cluster", "create", *[n.endpoint() for n in nodes],
                    "--cluster-replicas", "1", "--cluster-yes"], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    until("cluster settled", lambda: all(settled(n, len(nodes)) for n in nodes))


def settled(node, size):
    """cluster ok, every node known and connected, one master per shard (a failover has
    reached this node), replicas synced, and the shard IDs converged (a new replica adopts its
    primary's shard ID by gossip): the file is final."""
    if "cluster_state:ok" not in node.cmd("CLUSTER", "INFO"):
        return False
    lines = [line.split() for line in node.cmd("CLUSTER", "NODES").splitlines()]
    if len(lines) != size or any(l[7] != "connected" or "handshake" in l[2] for l in lines):
        return False
    if sum("master" in l[2].split(",") for l in lines) != size // 2:
        return False
    if node.cmd("ROLE")[0] == "slave" and node.client().info("replication").get(
            "master_link_status") != "up":
        return False
    return len(node.cmd("CLUSTER", "SHARDS")) == size // 2


def role_of(node):
    return node.cmd("ROLE")[0]


def master_of(node, nodes):
    ip, port = node.cmd("ROLE")[1:3]
    return next(n for n in nodes if n.ip == ip and n.port == int(port))


def plain_cluster(work):
    nodes = [Node(work, f"plain{i}", f"127.{BASE}.0.{11 + i}", 6379) for i in range(6)]
    for n in nodes:
        n.start()
    nodes[0].snapshot("valkey-8.0-fresh.conf")
    create(nodes)
    nodes[0].snapshot("valkey-8.0-created-master.conf")
    replica = next(n for n in nodes if role_of(n) == "slave")
    replica.snapshot("valkey-8.0-created-replica.conf")

    # The replica of ordinal 0 takes over; ordinal 0 becomes its replica.
    successor = next(n for n in nodes if role_of(n) == "slave"
                     and master_of(n, nodes) is nodes[0])
    successor.cmd("CLUSTER", "FAILOVER")
    until("failover done", lambda: role_of(nodes[0]) == "slave"
          and all(settled(n, 6) for n in nodes))
    nodes[0].snapshot("valkey-8.0-after-failover.conf")

    # Slot 5461 (ordinal 1's first slot) migrating to ordinal 2. Valkey 8 replicates SETSLOT
    # to the replicas, so theirs is recorded too.
    ids = [n.cmd("CLUSTER", "MYID") for n in nodes]
    nodes[2].cmd("CLUSTER", "SETSLOT", 5461, "IMPORTING", ids[1])
    nodes[1].cmd("CLUSTER", "SETSLOT", 5461, "MIGRATING", ids[2])
    nodes[1].snapshot("valkey-8.0-migrating.conf")
    nodes[2].snapshot("valkey-8.0-importing.conf")
    replica1 = next(n for n in nodes if role_of(n) == "slave" and master_of(n, nodes) is nodes[1])
    replica1.snapshot("valkey-8.0-migrating-replica.conf")
    for n in (nodes[1], nodes[2]):
        n.cmd("CLUSTER", "SETSLOT", 5461, "STABLE")

    for i, n in enumerate(nodes):
        n.cmd("CONFIG", "SET", "cluster-announce-hostname",
              f"redis-{i}.redis-headless.default.svc.cluster.local")
        n.cmd("CONFIG", "SET", "cluster-announce-human-nodename", f"redis-{i}")
    until("hostnames known", lambda: nodes[0].saved().count("nodename=") == 6)
    nodes[0].snapshot("valkey-8.0-hostname.conf")

    # Client addresses on top: IPv4 on every node, IPv6 on the first three.
    for i, n in enumerate(nodes):
        n.cmd("CONFIG", "SET", "cluster-announce-client-ipv4", f"203.0.113.{11 + i}")
        if i < 3:
            n.cmd("CONFIG", "SET", "cluster-announce-client-ipv6", f"2001:db8::{11 + i}")
    until("client addresses known", lambda: nodes[0].saved().count("client-ipv4=") == 6
          and nodes[0].saved().count("client-ipv6=") == 3)
    nodes[0].snapshot("valkey-8.0-client-ip.conf")


def ipv6_cluster(work):
    first = 22000 + (BASE * 10) % 1000
    nodes = [Node(work, f"v6-{i}", "::1", first + i) for i in range(6)]
    for n in nodes:
        n.start()
    create(nodes)
    nodes[0].snapshot("valkey-8.0-ipv6.conf")


def make_certs(work):
    """A CA and one certificate all nodes share (no extended key usage: server and client)."""
    ca, ca_key, key, csr, cert = (os.path.join(work, f) for f in
                                  ("ca.crt", "ca.key", "tls.key", "tls.csr", "tls.crt"))

    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rca-ca",
         "-keyout", ca_key, "-out", ca)
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rca-node", "-keyout", key,
         "-out", csr)
    ossl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days",
         "2", "-out", cert)
    return ca, cert, key


def tls_cluster(work):
    ca, cert, key = make_certs(work)
    extra = (f"port 0\ntls-port 6379\ntls-cluster yes\ntls-replication yes\n"
             f"tls-ca-cert-file {ca}\ntls-cert-file {cert}\ntls-key-file {key}\n")
    nodes = [Node(work, f"tls{i}", f"127.{BASE}.1.{11 + i}", 6379, extra) for i in range(6)]
    for n in nodes:
        n.tls = (ca, cert, key)
        n.start()
    create(nodes, ["--tls", "--cacert", ca, "--cert", cert, "--key", key])
    nodes[0].snapshot("valkey-8.0-tls.conf")


def main():
    work = tempfile.mkdtemp(prefix="rca-valkey-fixtures-")
    try:
        plain_cluster(work)
        ipv6_cluster(work)
        tls_cluster(work)
    finally:
        for n in STARTED:
            n.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
