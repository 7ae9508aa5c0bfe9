#!/usr/bin/python3
"""Benchmark: write gap of a rolling restart, with the preStop handover and without it.

Runs the same `kubectl rollout restart` of a 6-pod local StatefulSet twice, on a fresh cluster
each time (cluster-node-timeout 15000, the tutorial's value): once the way the chart does it
(preStop: the agent hands the master role over, then SIGTERM) and once the tutorial's way
(plain SIGTERM). A writer INCRs counters on every shard throughout. Prints, per run and shard,
the longest time between two acknowledged writes, checks that no acknowledged write was lost,
and prints the ratios. Exit code 0 when the goals hold: longest gap with the handover <= 1 s,
at least 10 times shorter than without, and nothing lost.

Needs root (per-pod /etc/hosts) and a build (meson compile -C build). Not run in CI.
With --tls every pod speaks TLS only (the chart's tls.enabled): the same goals hold.

Usage: bench/rolling_restart.py [--away 5] [--node-timeout 15000] [--tls] [--root DIR]
       [--net 127.N] [--png FILE]
"""
import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "lib"))
import certs  # noqa: E402
from localsts import LocalStatefulSet  # noqa: E402
from writer import CounterWriter  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402
import report  # noqa: E402

GAP_GOAL_S = 1.0
RATIO_GOAL = 10.0


def tls_files(args):
    """With --tls: a CA and the pods' certificate made by openssl (tests/lib/certs.py), made once
    under --root; every pod then speaks TLS only (clients, cluster bus, replication)."""
    if not getattr(args, "tls", False):  # server_migration.py has no --tls
        return None
    pods = os.path.join(args.root, "pki", "pods")
    if not os.path.exists(os.path.join(pods, "tls.crt")):
        ca = certs.make_ca(os.path.join(args.root, "pki", "ca"))
        certs.make_cert(ca, pods)
    return pods


def run_once(args, handover, net, to_server=None, label=None):
    """One rollout of a fresh 6-pod Redis cluster under the writer. to_server: the server every
    pod runs after its restart (an image change, e.g. "valkey"); default: unchanged."""
    label = label or ("with handover" if handover else "plain SIGTERM")
    root = os.path.join(args.root, label.replace(" ", "-").replace(">", ""))
    shutil.rmtree(root, ignore_errors=True)
    with LocalStatefulSet(root, pods=6, replicas=1, node_timeout=args.node_timeout,
                          net=net, server="redis", tls=tls_files(args)) as sts:
        sts.up()
        sts.wait_ready(timeout=120)
        writer = CounterWriter(sts, socket_timeout=args.client_timeout).start()
        marks = []  # (seconds since the writer started, what happened)
        t0 = time.monotonic()
        try:
            time.sleep(2)
            if to_server:
                sts.pod_servers.update({i: to_server for i in range(sts.size)})

            def show(rec):
                back = time.monotonic() - writer.threads[0].started
                marks.append((back - rec["total_s"], f"redis-{rec['ordinal']} deleted"))
                pre = rec["prestop"]
                what = f"preStop {pre.outcome} in {pre.seconds:.3f}s" if pre else "no preStop"
                print(f"  [{label}] redis-{rec['ordinal']} ({rec['role']}): {what}, "
                      f"ready again after {rec['total_s']:.1f}s", flush=True)

            sts.rollout_restart(prestop=handover, away=args.away, ready_timeout=180, on_pod=show)
            time.sleep(2)
        finally:
            writer.stop()
        duration = time.monotonic() - t0
        sts.wait_ready(timeout=60)
        lost = writer.check_counters()
        attempted, acked = writer.totals()
        print(f"  [{label}] rollout + 4 s of writes took {duration:.1f}s; {acked} of "
              f"{attempted} increments acknowledged")
        for line in writer.report():
            print(f"  [{label}] {line}")
        for problem in lost:
            print(f"  [{label}] LOST: {problem}")
        return {"gaps": [t.max_gap for t in writer.threads], "lost": lost, "rate": writer.rate(),
                "marks": marks, "label": label}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--away", type=float, default=5.0,
                    help="seconds a deleted pod stays away before its replacement starts")
    ap.add_argument("--node-timeout", type=int, default=15000)
    ap.add_argument("--root", default="/tmp/rca-bench-rolling-restart")
    ap.add_argument("--net", default="127.78", help="first of two 127.N networks to use")
    ap.add_argument("--tls", action="store_true",
                    help="TLS only: clients, cluster bus and replication (certificates by openssl)")
    ap.add_argument("--png", default=None, help="where to draw writes/s over both rolls "
                    "(default: bench/rolling_restart.png, bench/rolling_restart_tls.png)")
    ap.add_argument("--client-timeout", type=float, default=1.0,
                    help="the writer's socket timeout (s): how long its client waits for a reply")
    ap.add_argument("--handover-only", action="store_true",
                    help="only the roll with the handover (a diagnostic run: no baseline, no ratio)")
    args = ap.parse_args()
    args.png = args.png or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "rolling_restart_tls.png" if args.tls else
                                        "rolling_restart.png")
    first, second = args.net, "127.%d" % (int(args.net.split(".")[1]) + 1)
    print(f"rolling restart of 6 pods (3 masters + 3 replicas), cluster-node-timeout "
          f"{args.node_timeout}, each pod away {args.away:g}s before its replacement starts"
          + (", TLS only" if args.tls else ""))
    with_h = run_once(args, True, first)
    if args.handover_only:
        worst, lost = max(with_h["gaps"]), len(with_h["lost"])
        print(f"\n  longest gap with handover {worst:.3f}s (client timeout {args.client_timeout:g}s), "
              f"{lost} counters lost")
        return 0 if worst <= GAP_GOAL_S and lost == 0 else 1
    without = run_once(args, False, second)

    worst_with, worst_without, ratio = report.gap_table(
        ("handover", "plain"), with_h["gaps"], without["gaps"])
    plot.writes_per_second(
        args.png, f"rolling restart of 6 pods{' over TLS' if args.tls else ''}, "
        f"cluster-node-timeout {args.node_timeout}, each pod away {args.away:g}s: "
        "acknowledged INCRs per second, all shards",
        [(f"{run['label']} (longest gap {max(run['gaps']):.3f}s)", run["rate"], run["marks"])
         for run in (with_h, without)])
    lost = len(with_h["lost"]) + len(without["lost"])
    goals = [(f"longest gap with handover {worst_with:.3f}s <= {GAP_GOAL_S:g}s",
              worst_with <= GAP_GOAL_S),
             (f"{ratio:.1f}x shorter than without (goal >= {RATIO_GOAL:g}x)", ratio >= RATIO_GOAL),
             (f"acknowledged writes lost: {lost} counters (goal 0)", lost == 0)]
    return report.verdict(goals)

if __name__ == "__main__":
    sys.exit(main())
