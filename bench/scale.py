#!/usr/bin/python3
"""Slot moves: the agent's migration engine vs redis-cli, on the same data in one run.

Each round makes a fresh cluster on the local StatefulSet (8 pods: 3 masters with a replica each
from `redis-cli --cluster create`, then a 4th shard added empty, `cluster-node-timeout 15000`),
loads KEYS keys of 100 bytes, and times one tool filling the new master:
  - redis-cli: `redis-cli --cluster rebalance --cluster-use-empty-masters` (its defaults: 10 keys
    per MIGRATE, 60 s timeout); the add-node steps are not timed, for either tool;
  - agent: `redis-cluster-agent rebalance` (the internal verb over migrate/), at each --batch.
Afterwards each round checks the result: `redis-cli --cluster check` clean, masters even, every
key present with its value. Prints keys/s per round and the ratio agent / redis-cli.

Usage: /usr/bin/python3 bench/scale.py [--keys 200000] [--batches 10,100,300,1000] [--slots 128]
                                       [--net 127.16] [--root /tmp/rca-bench-scale]
Needs root and a built agent (RCA_AGENT_BIN or build/agent/redis-cluster-agent).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "lib"))
sys.dont_write_bytecode = True

from localsts import REDIS_PORT, LocalStatefulSet, agent_binary  # noqa: E402
from scaling import (balanced, check_clean, check_keys, load, make_cluster,  # noqa: E402
                     redis_cli_cluster)

NODE_TIMEOUT = 15000
PASSWORD = "bench-scale-Secret-1"


def moved_keys(sts, new_id):
    ordinal = next(p.ordinal for p in sts.pods
                   if sts.command(p.ordinal, "CLUSTER", "MYID") == new_id)
    return sts.command(ordinal, "DBSIZE")


def run_redis_cli(sts):
    return redis_cli_cluster(sts, "rebalance", f"{sts.pods[0].ip}:{REDIS_PORT}",
                             "--cluster-use-empty-masters", timeout=3600)


def run_agent(sts, batch, slots):
    r = subprocess.run([agent_binary(), "rebalance", "--seed", f"{sts.pods[0].ip}:{REDIS_PORT}",
                        "--password-file", sts.secret_path, "--batch-keys", str(batch),
                        "--batch-slots", str(slots)],
                       capture_output=True, text=True, timeout=3600)
    return r.returncode, r.stdout + r.stderr


def one_round(args, label, batch):
    root = os.path.join(args.root, label.replace(" ", "-"))  # redis.conf paths take no spaces
    shutil.rmtree(root, ignore_errors=True)
    with LocalStatefulSet(root, pods=8, replicas=1, node_timeout=NODE_TIMEOUT, net=args.net,
                          with_agent=False, password=PASSWORD) as sts:
        new_id = make_cluster(sts, masters=3, new_masters=1)[0]
        load(sts, args.keys)
        started = time.monotonic()
        rc, out = run_redis_cli(sts) if batch is None else run_agent(sts, batch, args.slots)
        seconds = time.monotonic() - started
        if rc != 0:
            raise SystemExit(f"{label} failed (rc {rc}):\n{out[-3000:]}")
        moved = moved_keys(sts, new_id)
        clean, check = check_clean(sts)
        even, counts = balanced(sts)
        lost = check_keys(sts, args.keys)
        ok = clean and even and not lost
        print(f"{label:>14}: {moved} keys in {seconds:6.2f} s = {moved / seconds:8.0f} keys/s; "
              f"check {'clean' if clean else 'NOT clean'}, slots {sorted(counts.values())}, "
              f"{len(lost)} keys lost/changed", flush=True)
        if not ok:
            print(check[-2000:], lost[:10])
        return moved / seconds, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=200000)
    ap.add_argument("--batches", default="10,100,300,1000")
    ap.add_argument("--slots", type=int, default=128, help="the agent's --batch-slots")
    ap.add_argument("--net", default="127.16")
    ap.add_argument("--root", default="/tmp/rca-bench-scale")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (the local StatefulSet)")
    print(f"{args.keys} keys x 100 B, 3 -> 4 masters, cluster-node-timeout {NODE_TIMEOUT}")
    baseline, ok = one_round(args, "redis-cli", None)
    results = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        results[batch], good = one_round(args, f"agent batch {batch}", batch)
        ok = ok and good
    best = max(results, key=results.get)
    print(f"best batch {best}: {results[best]:.0f} keys/s; ratio agent / redis-cli = "
          f"{results[best] / baseline:.1f}x (goal >= 10x)")
    for batch, rate in results.items():
        print(f"  batch {batch:>5}: {rate / baseline:5.1f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
