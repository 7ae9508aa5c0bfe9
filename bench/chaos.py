#!/usr/bin/python3
"""Benchmark: many chaos rounds (tests/lib/chaos.py) on one 6-pod local StatefulSet under the
counter writer, and how long the cluster took to heal after each.

A round injects one random fault (graceful delete, SIGKILL of Redis, the agent or both, a new
IP, a wiped volume, two pods at once, a silent network partition, stale DNS records), undoes it
the way Kubernetes would, and waits until `status` is healthy without warnings, `redis-cli
--cluster check` is clean and every /readyz answers 200. Heal time: from the end of the fault
to that moment (serving time: until `status` alone was healthy, replicas maybe still
syncing). A regression: a counter that went backwards, or an acknowledged write lost to a
graceful fault. The run stops at the first round that does not heal within --heal-timeout.
Per fault, the median heal time is compared with a plain graceful delete's (the baseline: what
every rolling update does).

Usage: /usr/bin/python3 bench/chaos.py [--rounds 200] [--seed N] [--net 127.13]
       [--root /tmp/chaos-bench] [--node-timeout 5000]
"""
import argparse
import os
import random
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "lib"))
from chaos import GRACEFUL, ChaosFailure, Chaos  # noqa: E402
from localsts import LocalStatefulSet  # noqa: E402
from writer import CounterWriter  # noqa: E402


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def prev(rounds, r):
    i = rounds.index(r)
    return rounds[i - 1] if i else None


def summary(chaos, planned, elapsed):
    rounds = chaos.rounds
    healed = [r for r in rounds if r.heal_s is not None]
    lines = [f"seed {chaos.seed}: {len(rounds)} of {planned} rounds run in {elapsed:.0f}s, "
             f"{len(healed)} healed ({100.0 * len(healed) / max(1, len(rounds)):.1f}%)"]
    if healed:
        for what, values in (("heal time", [r.heal_s for r in healed]),
                             ("serving time", [r.serving_s for r in healed])):
            lines.append(f"{what}: " + ", ".join(
                f"p{p} {percentile(values, p):.2f}s" for p in (50, 90, 99)) +
                f", max {max(values):.2f}s")
        by_fault = {}
        for r in healed:
            by_fault.setdefault(r.fault, []).append(r.heal_s)
        # The baseline: a plain graceful delete, the fault Kubernetes causes every day.
        base = by_fault.get("graceful_delete")
        base_p50 = percentile(base, 50) if base else None
        for fault, v in sorted(by_fault.items()):
            ratio = f"  x{percentile(v, 50) / base_p50:.2f} of graceful_delete" if base_p50 else ""
            lines.append(f"  {fault:16} {len(v):3} rounds  p50 {percentile(v, 50):6.2f}s  "
                         f"max {max(v):6.2f}s{ratio}")
    regressions = [r for r in rounds if r.regressions]
    lost_hard = [r for r in rounds if r.lost and r.fault not in GRACEFUL]
    lines.append(f"regressions (counter backwards, or acknowledged write lost to a graceful "
                 f"fault): {len(regressions)}")
    lines.append(f"rounds after which a hard fault's acknowledged write was missing (allowed, "
                 f"reported): {len(lost_hard)}")
    # A double-applied INCR stays in its counter: count the rounds in which a new one appeared.
    excess = [r for r in rounds if r.excess_total > getattr(prev(rounds, r), "excess_total", 0)]
    lines.append(f"rounds in which a counter came to hold more than was attempted (a client "
                 f"retry, reported): {len(excess)}")
    for r in regressions + lost_hard + excess:
        lines.append(f"  {r.describe()}: {r.regressions or r.lost or r.excess}")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--net", default="127.13")
    ap.add_argument("--root", default="/tmp/chaos-bench")
    ap.add_argument("--node-timeout", type=int, default=5000)
    ap.add_argument("--heal-timeout", type=float, default=120)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    print(f"chaos seed {seed}, {args.rounds} rounds, node-timeout {args.node_timeout} ms "
          f"(replay: --seed {seed})", flush=True)
    shutil.rmtree(args.root, ignore_errors=True)
    sts = LocalStatefulSet(args.root, pods=6, replicas=1, node_timeout=args.node_timeout,
                           net=args.net)
    writer = None
    t0 = time.monotonic()
    chaos = None
    failure = None
    try:
        sts.up()
        sts.wait_ready(timeout=90)
        writer = CounterWriter(sts).start()
        chaos = Chaos(sts, writer, seed, heal_timeout=args.heal_timeout,
                      log=lambda line: print(line, flush=True))
        for _ in range(args.rounds):
            try:
                chaos.run_round()
            except ChaosFailure as e:
                failure = failure or str(e)
                if chaos.rounds[-1].heal_s is None:
                    break  # the cluster did not heal: later rounds would measure nothing
    finally:
        if writer:
            writer.stop()
        sts.down()
    if chaos:
        print("\n".join(summary(chaos, args.rounds, time.monotonic() - t0)))
        print("\n".join(writer.report()))
    if failure:
        print(f"first failure: {failure}")
    return 0 if failure is None else 1


if __name__ == "__main__":
    sys.exit(main())
