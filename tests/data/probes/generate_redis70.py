#!/usr/bin/python3
"""Regenerates the readiness fixtures from the local redis-server (Debian 7.0.15).

Each scenario is what one node answers to INFO, CLUSTER INFO and CLUSTER NODES at one moment,
saved as <scenario>.info / .cluster-info / .cluster-nodes (the last two empty while the node
answers -LOADING). Nodes run on 127.158.0.x; every process is stopped by pid at the end.
Usage: /usr/bin/python3 tests/data/probes/generate_redis70.py [OUTPUT_DIR]
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from localsts import raw_command  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
NET = "127.158.0"
PORT = 6379
STARTED = []  # every Node ever created, so main() stops them all even when a scenario fails


class Node:
    def __init__(self, base, n, ip=None, extra=""):
        self.dir = os.path.join(base, str(n))
        os.makedirs(self.dir, exist_ok=True)
        self.ip = ip or f"{NET}.{10 + n}"
        self.extra = extra
        self.proc = None
        STARTED.append(self)

    def start(self, wait=True):
        conf = os.path.join(self.dir, "redis.conf")
        with open(conf, "w") as f:
            f.write(f"bind {self.ip}\nbind-source-addr {self.ip}\nport {PORT}\n"
                    f"cluster-enabled yes\ncluster-config-file {self.dir}/nodes.conf\n"
                    f"dir {self.dir}\ncluster-node-timeout 3000\nappendonly no\nsave \"\"\n"
                    f"protected-mode no\nenable-debug-command yes\nlogfile {self.dir}/redis.log\n"
                    f"{self.extra}")
        self.proc = subprocess.Popen(["redis-server", conf])
        if wait:
            self.wait()

    def wait(self):
        for _ in range(200):
            try:
                self.client().execute_command("INFO", "server")
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.ip} did not answer")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def client(self):
        return redis.Redis(host=self.ip, port=PORT, socket_timeout=5)

    def raw(self, *args):
        return raw_command(self.client(), *args)

    def text(self, *args):
        try:
            return self.raw(*args)
        except redis.BusyLoadingError:
            return ""

    def capture(self, name):
        for suffix, args in ((".info", ("INFO",)), (".cluster-info", ("CLUSTER", "INFO")),
                             (".cluster-nodes", ("CLUSTER", "NODES"))):
            with open(os.path.join(OUT, name + suffix), "w") as f:
                f.write(self.text(*args).replace("\r\n", "\n"))
        print(f"captured {name} from {self.ip}")

    def myid(self):
        return self.raw("CLUSTER", "MYID")


def until(what, check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


def create_cluster(nodes):
    subprocess.run(["redis-cli", "--cluster", "create", *[f"{n.ip}:{PORT}" for n in nodes],
                    "--cluster-replicas", "1", "--cluster-yes"], check=True,
                   stdout=subprocess.DEVNULL)
    until("replicas in sync", lambda: all(
        "master_link_status:up" in n.raw("INFO", "replication") for n in nodes
        if n.raw("ROLE")[0] == b"slave"))


def replica_of(nodes, master):
    mid = master.myid()
    for n in nodes:
        me = next(l for l in n.raw("CLUSTER", "NODES").splitlines() if "myself" in l).split()
        if me[3] == mid:
            return n
    raise RuntimeError(f"no replica of {master.ip}")


def scenario_formed_and_failed(base):
    nodes = [Node(base, i) for i in range(6)]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait()
    nodes[0].capture("fresh")
    create_cluster(nodes)
    nodes[0].capture("master")
    r0 = replica_of(nodes, nodes[0])
    r0.capture("replica")
    # A seventh node asked to replicate master 0, whose RDB stream is slowed down to seconds
    # (rdb-key-save-delay, in microseconds per key): the replica sits in "sync in progress".
    nodes[0].raw("DEBUG", "POPULATE", "100000", "{b}key", "16")
    nodes[0].raw("CONFIG", "SET", "rdb-key-save-delay", "100")
    extra = Node(base, 6)
    extra.start()
    extra.raw("CLUSTER", "MEET", nodes[0].ip, str(PORT))
    until("meet", lambda: nodes[0].myid() in extra.raw("CLUSTER", "NODES"))
    time.sleep(1)
    extra.raw("CLUSTER", "REPLICATE", nodes[0].myid())
    until("sync", lambda: "master_sync_in_progress:1" in extra.raw("INFO", "replication"))
    time.sleep(1)
    extra.capture("replica-syncing")
    nodes[0].raw("CONFIG", "SET", "rdb-key-save-delay", "0")
    # Master 2 dies; its replica may not fail over, so the failure stays visible.
    r2 = replica_of(nodes, nodes[2])
    r2.raw("CONFIG", "SET", "cluster-replica-no-failover", "yes")
    nodes[2].stop(signal.SIGKILL)
    until("fail", lambda: "master,fail " in r2.raw("CLUSTER", "NODES"))
    time.sleep(0.5)
    r2.capture("replica-of-failed-master")
    nodes[0].capture("master-sees-failed-master")


def scenario_noaddr(base):
    # Master 1's pod is replaced by a wiped one on the same IP (a reused address): the others'
    # PINGs to that address are answered by another node ID, so they flag master 1 noaddr.
    nodes = [Node(base, 10 + i, ip=f"{NET}.{30 + i}") for i in range(6)]
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n.wait()
    create_cluster(nodes)
    time.sleep(1)
    nodes[1].stop()
    Node(base, 16, ip=nodes[1].ip).start()
    viewer = nodes[0]
    until("noaddr", lambda: "noaddr" in viewer.raw("CLUSTER", "NODES"), timeout=20)
    viewer.capture("noaddr-peer")


def scenario_loading(base):
    # key-load-delay slows loading down to seconds without a big dataset.
    n = Node(base, 20, ip=f"{NET}.50")
    n.start()
    n.raw("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    n.raw("DEBUG", "POPULATE", "200000", "{t}key", "16")
    n.raw("SAVE")
    n.stop()
    n.extra = "key-load-delay 20\nloading-process-events-interval-bytes 1024\n"
    n.start(wait=False)
    until("loading", lambda: _loading(n))
    time.sleep(0.5)
    n.capture("loading")


def _loading(n):
    try:
        return "loading:1" in n.raw("INFO", "persistence")
    except redis.ConnectionError:
        return False


def main():
    base = tempfile.mkdtemp(prefix="rca-probes-")
    try:
        for scenario in (scenario_formed_and_failed, scenario_noaddr, scenario_loading):
            scenario(base)
    finally:
        for n in STARTED:
            n.stop(signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
