#!/usr/bin/python3
"""Benchmark: a live migration from Redis 7.0.15 to Valkey 8.0.1 by a rolling update.

Runs `kubectl rollout restart` of a 6-pod local StatefulSet (cluster-node-timeout 15000, each
pod away --away seconds, the preStop handover on) twice, on a fresh Redis cluster each time,
under the counter writer: once as an ordinary image update (every pod comes back on Redis, the
baseline) and once as the migration (every pod comes back on its own data running Valkey).
While the migration rolls, Valkey replicas follow Redis masters, the one direction in which
replication works between the two (docs/servers.md). Prints per shard the longest time between
two acknowledged writes for both runs and their ratio, and checks that no acknowledged write
was lost. Exit code 0 when the goals hold: nothing lost, longest gap of the migration <= 1 s
(the plain rolling restart's goal, bench/rolling_restart.py); the ratio to the baseline is
printed.

Needs root and a build (meson compile -C build). Not run in CI (tests/e2e/test_versions.py
runs a shorter migration there).
Usage: bench/server_migration.py [--away 5] [--node-timeout 15000] [--root DIR] [--net 127.N]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402
import report  # noqa: E402
from rolling_restart import run_once  # noqa: E402

GAP_GOAL_S = 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--away", type=float, default=5.0,
                    help="seconds a deleted pod stays away before its replacement starts")
    ap.add_argument("--node-timeout", type=int, default=15000)
    ap.add_argument("--root", default="/tmp/rca-bench-server-migration")
    ap.add_argument("--net", default="127.80", help="first of two 127.N networks to use")
    ap.add_argument("--png", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "server_migration.png"),
                    help="where to draw writes/s over both rolls")
    args = ap.parse_args()
    first, second = args.net, "127.%d" % (int(args.net.split(".")[1]) + 1)
    print(f"rolling update of 6 pods (3 masters + 3 replicas) with the handover, "
          f"cluster-node-timeout {args.node_timeout}, each pod away {args.away:g}s")
    same = run_once(args, True, first, label="redis to redis")
    moved = run_once(args, True, second, to_server="valkey", label="redis to valkey")

    base, worst, ratio = report.gap_table(
        ("redis->redis", "redis->valkey"), same["gaps"], moved["gaps"], ratio_digits=2)
    plot.writes_per_second(
        args.png, f"rolling update of 6 pods with the handover, cluster-node-timeout "
        f"{args.node_timeout}: acknowledged INCRs per second, all shards",
        [(f"{run['label']} (longest gap {max(run['gaps']):.3f}s)", run["rate"], run["marks"])
         for run in (same, moved)])
    lost = len(same["lost"]) + len(moved["lost"])
    goals = [(f"longest gap of the migration {worst:.3f}s <= {GAP_GOAL_S:g}s", worst <= GAP_GOAL_S),
             (f"acknowledged writes lost: {lost} counters (goal 0)", lost == 0)]
    return report.verdict(goals)

if __name__ == "__main__":
    sys.exit(main())
