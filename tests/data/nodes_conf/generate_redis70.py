#!/usr/bin/python3
"""Regenerates the Redis 7.0 nodes.conf fixtures from the local redis-server (Debian 7.0.15).

Starts six cluster nodes on 127.31.0.11-16, captures nodes.conf at each stage (fresh node,
after create, after a manual failover, with a slot migrating), stops every node by pid.
Usage: /usr/bin/python3 tests/data/nodes_conf/generate_redis70.py [OUTPUT_DIR]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import redis

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
IPS = [f"127.31.0.{11 + i}" for i in range(6)]


def start(ip, d):
    conf = os.path.join(d, "redis.conf")
    with open(conf, "w") as f:
        f.write(f"bind {ip}\nbind-source-addr {ip}\nport 6379\ncluster-enabled yes\n"
                f"cluster-config-file {d}/nodes.conf\ndir {d}\ncluster-node-timeout 3000\n"
                f"save \"\"\nappendonly no\nprotected-mode no\nlogfile {d}/redis.log\n")
    return subprocess.Popen(["redis-server", conf])


def wait_ping(ip):
    for _ in range(100):
        try:
            if redis.Redis(host=ip, port=6379).ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"{ip} did not answer")


def snapshot(d, name):
    shutil.copy(os.path.join(d, "nodes.conf"), os.path.join(OUT, name))


def main():
    base = tempfile.mkdtemp(prefix="rca-fixtures-")
    procs = []
    try:
        dirs = []
        for i, ip in enumerate(IPS):
            d = os.path.join(base, str(i))
            os.makedirs(d)
            dirs.append(d)
            procs.append(start(ip, d))
        for ip in IPS:
            wait_ping(ip)
        snapshot(dirs[0], "redis-7.0-fresh.conf")
        subprocess.run(["redis-cli", "--cluster", "create", *[f"{ip}:6379" for ip in IPS],
                        "--cluster-replicas", "1", "--cluster-yes"], check=True,
                       stdout=subprocess.DEVNULL)
        time.sleep(4)
        clients = [redis.Redis(host=ip, port=6379) for ip in IPS]
        for c in clients:
            c.execute_command("CLUSTER SAVECONFIG")
        snapshot(dirs[0], "redis-7.0-created-master.conf")
        snapshot(dirs[3], "redis-7.0-created-replica.conf")
        # Replica of the first master takes over; save both sides.
        replica = next(c for c in clients if c.execute_command("ROLE")[0] == b"slave"
                       and c.execute_command("ROLE")[1].decode() == IPS[0])
        replica.execute_command("CLUSTER FAILOVER")
        time.sleep(2)
        for c in clients:
            c.execute_command("CLUSTER SAVECONFIG")
        snapshot(dirs[0], "redis-7.0-after-failover.conf")
        # Slot 5461 (owned by the second master) migrating to the third.
        ids = [c.execute_command("CLUSTER MYID").decode() for c in clients]
        clients[1].execute_command("CLUSTER SETSLOT", 5461, "MIGRATING", ids[2])
        clients[2].execute_command("CLUSTER SETSLOT", 5461, "IMPORTING", ids[1])
        clients[1].execute_command("CLUSTER SAVECONFIG")
        clients[2].execute_command("CLUSTER SAVECONFIG")
        snapshot(dirs[1], "redis-7.0-migrating.conf")
        snapshot(dirs[2], "redis-7.0-importing.conf")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
