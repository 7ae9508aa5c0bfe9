#!/usr/bin/python3
"""Benchmark: cluster creation, agent vs `redis-cli --cluster create`, on identical fresh nodes.

Each round starts 6 empty redis-server pods of the local StatefulSet (tutorial config,
cluster-node-timeout 15000), waits until every node answers and is past Redis' 2 s start-up
write delay (CLUSTER_WRITABLE_DELAY, which would otherwise dominate both), then starts the clock
and either starts the six agents or runs `redis-cli --cluster create --cluster-replicas 1
--cluster-yes`. "Formed" is the shared definition (`redis-cluster-agent status`, polled every
50 ms): every node reports cluster_state ok, sees all 6 nodes at their addresses, all 16384
slots, and every master with its replica. The agent shortens cluster-node-timeout on the masters
while it creates; each agent round also checks that every node runs 15000 again afterwards and
reports when the last one did ("restored").

Usage: /usr/bin/python3 bench/create.py [--rounds 5] [--net 127.11]   (needs root and a built
agent; RCA_AGENT_BIN picks another agent binary, e.g. an earlier build to compare with)
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "lib"))
from localsts import LocalStatefulSet  # noqa: E402

NODE_TIMEOUT = 15000


def settle(sts):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(sts.redis(i).info("server")["uptime_in_seconds"] >= 3 for i in range(sts.size)):
            return
        time.sleep(0.1)
    raise TimeoutError("nodes did not settle")


def wait_formed(sts, t0, timeout=120):
    """(converged, formed) in seconds after t0; see LocalStatefulSet.time_to_healthy."""
    converged, formed = sts.time_to_healthy(t0, timeout)
    if formed is None:
        raise TimeoutError("cluster did not form")
    return converged, formed


def node_timeouts(sts):
    return [int(sts.redis(i).config_get("cluster-node-timeout")["cluster-node-timeout"])
            for i in range(sts.size)]


def wait_restored(sts, t0, timeout=15):
    """Seconds after t0 when every node runs the configured node-timeout again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(v == NODE_TIMEOUT for v in node_timeouts(sts)):
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"node-timeout not restored: {node_timeouts(sts)}")


def round_agent(root, net):
    with LocalStatefulSet(root, pods=6, replicas=1, node_timeout=NODE_TIMEOUT, net=net) as sts:
        sts.up(agent=False)
        settle(sts)
        t0 = time.monotonic()
        for i in range(6):
            sts.start_agent(i)
        converged, formed = wait_formed(sts, t0)
        return {"converged": converged, "formed": formed, "restored": wait_restored(sts, t0)}


def round_redis_cli(root, net):
    with LocalStatefulSet(root, pods=6, replicas=1, node_timeout=NODE_TIMEOUT, net=net,
                          with_agent=False) as sts:
        sts.up()
        settle(sts)
        t0 = time.monotonic()
        subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"{p.ip}:6379" for p in sts.pods], "--cluster-replicas", "1",
                        "--cluster-yes"], check=True, stdout=subprocess.DEVNULL)
        returned = time.monotonic() - t0
        converged, formed = wait_formed(sts, t0)
        return {"converged": converged, "formed": formed, "returned": returned}


def round_net(fixed, r, name):
    if fixed is None:
        return f"127.{60 + 2 * r + (name == 'agent')}"
    a, b = fixed.split(".")
    return f"{a}.{int(b) + (name == 'redis-cli')}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--net", help="one loopback network for every round (127.N; the redis-cli "
                    "rounds use 127.N+1); default: 127.60 and up, one per round")
    args = ap.parse_args()
    results = {"agent": [], "redis-cli": []}
    with tempfile.TemporaryDirectory(prefix="rca-bench-create-") as tmp:
        for r in range(args.rounds):
            for name, fn in (("agent", round_agent), ("redis-cli", round_redis_cli)):
                res = fn(os.path.join(tmp, f"{name}-{r}"), round_net(args.net, r, name))
                results[name].append(res)
                extra = f" (redis-cli returned after {res['returned']:.2f} s)" if "returned" in res else ""
                if "restored" in res:
                    extra = f" (node-timeout {NODE_TIMEOUT} again everywhere after {res['restored']:.2f} s)"
                print(f"round {r + 1} {name:9s}: converged after {res['converged']:.2f} s, formed "
                      f"after {res['formed']:.2f} s{extra}", flush=True)
    med = {k: statistics.median(x["formed"] for x in v) for k, v in results.items()}
    conv = {k: statistics.median(x["converged"] for x in v) for k, v in results.items()}
    ret = statistics.median(x["returned"] for x in results["redis-cli"])
    print()
    print(f"medians over {args.rounds} rounds, node-timeout {NODE_TIMEOUT}:")
    print(f"               converged   formed")
    print(f"  agent        {conv['agent']:6.2f} s   {med['agent']:6.2f} s")
    print(f"  redis-cli    {conv['redis-cli']:6.2f} s   {med['redis-cli']:6.2f} s   (redis-cli "
          f"returns after {ret:.2f} s)")
    ratio = med["agent"] / med["redis-cli"]
    print(f"  formed:    agent / redis-cli = {ratio:.3f}  (goal <= 0.25: "
          f"{'met' if ratio <= 0.25 else 'NOT met'})")
    print(f"  converged: agent / redis-cli = {conv['agent'] / conv['redis-cli']:.3f}")
    print("  (a fresh master reports cluster_state ok only min(node-timeout, 5 s) after it got "
          "its slots: Redis' rejoin delay; the agent shortens node-timeout on the masters while "
          "it creates, redis-cli cannot)")


if __name__ == "__main__":
    main()
