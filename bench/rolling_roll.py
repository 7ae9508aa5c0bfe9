#!/usr/bin/python3
"""Benchmark: the whole rolling restart's duration, with Redis' default first-sync delay and with
the chart's (repl-diskless-sync-delay 0).

Runs the same `kubectl rollout restart` of a 6-pod local StatefulSet (handover in preStop, each
pod away --away seconds, the next pod only once the cluster is ready, every replication link up,
as the StatefulSet controller waits for readiness) twice on fresh clusters: once with
`repl-diskless-sync-delay 5` (Redis' default: every restarted pod's first full sync waits 5 s
for more replicas) and once with 0. A writer INCRs counters on every shard throughout. Prints
the roll's duration, per pod and in total, the longest write gap and lost writes, and the
difference. Exit code 0 when: the roll with 0 is shorter by at least 4 s per pod that needed a
full sync, the longest gap with 0 is <= 1 s, and nothing acknowledged was lost.

Needs root (per-pod /etc/hosts) and a build (meson compile -C build). Not run in CI.
Usage: bench/rolling_roll.py [--away 5] [--node-timeout 15000] [--root DIR] [--net 127.N]
"""
import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "lib"))
from localsts import LocalStatefulSet  # noqa: E402
from writer import CounterWriter  # noqa: E402

GAP_GOAL_S = 1.0


def full_syncs(sts):
    """Full resynchronizations the replicas' logs show."""
    n = 0
    for i in range(sts.size):
        try:
            with open(sts.redis_log(i)) as f:
                n += f.read().count("Full resync from master")
        except OSError:
            pass
    return n


def run_once(args, delay, net):
    root = os.path.join(args.root, f"sync-delay-{delay}")
    shutil.rmtree(root, ignore_errors=True)
    label = f"delay {delay}s"
    with LocalStatefulSet(root, pods=6, replicas=1, node_timeout=args.node_timeout, net=net,
                          redis_conf=(f"repl-diskless-sync-delay {delay}",)) as sts:
        sts.up()
        sts.wait_ready(timeout=120)
        syncs_before = full_syncs(sts)
        writer = CounterWriter(sts).start()
        try:
            time.sleep(1)

            def show(rec):
                pre = rec["prestop"]
                print(f"  [{label}] redis-{rec['ordinal']} ({rec['role']}): preStop "
                      f"{pre.outcome} in {pre.seconds:.3f}s, ready again after "
                      f"{rec['total_s']:.1f}s", flush=True)

            t0 = time.monotonic()
            records = sts.rollout_restart(away=args.away, ready_timeout=180, on_pod=show)
            roll = time.monotonic() - t0
            time.sleep(1)
        finally:
            writer.stop()
        lost = writer.check_counters()
        syncs = full_syncs(sts) - syncs_before
        print(f"  [{label}] whole roll {roll:.1f}s, {syncs} full syncs, longest write gap "
              f"{writer.longest_gap:.3f}s, lost {len(lost)}")
        return {"roll": roll, "gap": writer.longest_gap, "lost": lost, "syncs": syncs,
                "prestops": [r["prestop"].outcome for r in records if r["role"] == "master"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--away", type=float, default=5.0,
                    help="seconds a deleted pod stays away before its replacement starts")
    ap.add_argument("--node-timeout", type=int, default=15000)
    ap.add_argument("--root", default="/tmp/rca-bench-rolling-roll")
    ap.add_argument("--net", default="127.80", help="first of two 127.N networks to use")
    args = ap.parse_args()
    first, second = args.net, "127.%d" % (int(args.net.split(".")[1]) + 1)
    print(f"rolling restart of 6 pods with handover, cluster-node-timeout {args.node_timeout}, "
          f"each pod away {args.away:g}s")
    before = run_once(args, 5, first)
    after = run_once(args, 0, second)
    saved = before["roll"] - after["roll"]
    needed = 4.0 * after["syncs"]
    lost = len(before["lost"]) + len(after["lost"])
    print(f"\nwhole roll: delay 5 s {before['roll']:.1f}s, delay 0 {after['roll']:.1f}s "
          f"(ratio {after['roll'] / before['roll']:.2f}, {saved:.1f}s shorter); "
          f"masters' preStops: {before['prestops']} / {after['prestops']}")
    goals = [(f"{saved:.1f}s shorter, goal >= {needed:.0f}s (4 s x {after['syncs']} full syncs)",
              saved >= needed),
             (f"longest gap with delay 0 {after['gap']:.3f}s <= {GAP_GOAL_S:g}s",
              after["gap"] <= GAP_GOAL_S),
             (f"acknowledged writes lost: {lost} counters (goal 0)", lost == 0)]
    for text, ok in goals:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
