#!/usr/bin/python3
"""Benchmark: healing after pods come back on new IPs, agent vs the tutorial's sed recipe.

Scenario 1: one master pod stopped and started on a new IP (within node-timeout).
Scenario 1r: the same with a replica pod, which Redis does not hold back (see below).
Scenario 2: all 6 pods stopped and started on new IPs.
The clock starts when the last redis-server of the scenario is spawned (after `prepare`, or after
the tutorial's `sed` on the myself line). "Healed" is the shared definition
(`redis-cluster-agent status`, polled every 50 ms): every node reports cluster_state ok and sees
every node at its current address, connected, with all slots and replicas. "Addresses agreed"
is the same without the cluster_state of restarted masters, which Redis holds at fail for 2 s
after start (CLUSTER_WRITABLE_DELAY). node-timeout 15000, as in the tutorial.

Usage: /usr/bin/python3 bench/heal.py [--rounds 3] [--sed-timeout 60] [--net 127.N]
(--net: every cluster in turn on that one network; by default each on its own, 127.40 up)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "lib"))
from localsts import LocalStatefulSet  # noqa: E402

NODE_TIMEOUT = 15000
SCENARIOS = ("1", "1r", "2")


def sed_trick(sts, i):
    """The tutorial's update-node.sh: any IPv4 on the myself line becomes POD_IP."""
    path = os.path.join(sts.data_dir(i), "nodes.conf")
    if os.path.exists(path):
        subprocess.run(["sed", "-i", "-e",
                        r"/myself/ s/[0-9]\{1,3\}\.[0-9]\{1,3\}\.[0-9]\{1,3\}\.[0-9]\{1,3\}/" +
                        sts.pods[i].ip + "/", path], check=True)


def make(root, net, agent):
    sts = LocalStatefulSet(root, pods=6, replicas=1, node_timeout=NODE_TIMEOUT, net=net,
                           with_agent=agent)
    sts.up()
    if not agent:
        subprocess.run(["redis-cli", "--cluster", "create", *[f"{p.ip}:6379" for p in sts.pods],
                        "--cluster-replicas", "1", "--cluster-yes"], check=True,
                       stdout=subprocess.DEVNULL)
    sts.wait_healthy(timeout=60)
    return sts


def ordinal_with_role(sts, role):
    return next(p.ordinal for p in sts.pods
                if sts.redis(p.ordinal).info("replication")["role"] == role)


def scenario(sts, which, agent, timeout):
    hook = None if agent else sed_trick
    if which in ("1", "1r"):
        i = ordinal_with_role(sts, "master" if which == "1" else "slave")
        sts.stop_pod(i)
        sts.start_pod(i, new_ip=True, wait=False, before_redis=hook)
    else:
        for i in range(6):
            sts.stop_pod(i)
        sts.start_pods(range(6), new_ip=True, wait=False, before_redis=hook)
    t0 = time.monotonic()  # the last redis-server was just spawned
    return sts.time_to_healthy(t0, timeout)


def fmt(v, timeout):
    return "never" if v is None else f"{v:.2f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sed-timeout", type=float, default=60)
    ap.add_argument("--net")
    args = ap.parse_args()
    results = {}
    net = iter(range(40, 90))
    net_of = (lambda: args.net) if args.net else (lambda: f"127.{next(net)}")
    with tempfile.TemporaryDirectory(prefix="rca-bench-heal-") as tmp:
        for which in SCENARIOS:
            for name, agent in (("agent", True), ("sed", False)):
                rounds = args.rounds if (agent or which != "2") else 1
                timeout = 60 if agent else args.sed_timeout
                for r in range(rounds):
                    with make(os.path.join(tmp, f"s{which}-{name}-{r}"), net_of(), agent) as sts:
                        agreed, healed = scenario(sts, which, agent, timeout)
                    results.setdefault((which, name), []).append((agreed, healed))
                    print(f"scenario {which:2s} {name:5s} round {r + 1}: addresses agreed "
                          f"{fmt(agreed, timeout)}, healed {fmt(healed, timeout)}", flush=True)
    print()
    print(f"medians, node-timeout {NODE_TIMEOUT} (sed timeout {args.sed_timeout:.0f} s):")
    goals = {"1": 1.0, "1r": 1.0, "2": 3.0}
    for which in SCENARIOS:
        row = {}
        for name in ("agent", "sed"):
            vals = results[(which, name)]
            healed = [h for _, h in vals]
            agreed = [a for a, _ in vals]
            row[name] = (statistics.median(agreed) if None not in agreed else None,
                         statistics.median(healed) if None not in healed else None)
            print(f"  scenario {which:2s} {name:5s}: addresses agreed {fmt(row[name][0], 0)}, "
                  f"healed {fmt(row[name][1], 0)}")
        a, s = row["agent"][1], row["sed"][1]
        ratio = "sed never heals" if s is None else f"agent/sed = {a / s:.3f}"
        print(f"    {ratio}; goal healed <= {goals[which]:.0f} s: "
              f"{'met' if a is not None and a <= goals[which] else 'NOT met'}")
    print("  (a master that just started reports cluster_state fail for 2 s, Redis' "
          "CLUSTER_WRITABLE_DELAY, hard-coded: scenario 1 cannot heal sooner without a "
          "failover; 1r shows the agent's own time)")


if __name__ == "__main__":
    main()
