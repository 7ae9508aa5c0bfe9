#!/usr/bin/python3
"""Slot moves: the agent's migration engine vs redis-cli, on the same data in one run.

Each round makes a fresh cluster on the local StatefulSet (8 pods: 3 masters with a replica each
from `redis-cli --cluster create`, then a 4th shard added empty with `add-node`,
`cluster-node-timeout 15000`, a password), loads KEYS keys of 100 bytes, has every pod save them
(BGSAVE, waited for: else the load's own snapshots fall into the move), starts the hit-counter
writer (tests/lib/writer.py: INCRs on every shard, every acknowledged one counted) and a sampler
of the new master's DBSIZE (every 0.2 s), and times one tool filling the new master:
  - redis-cli: `redis-cli --cluster rebalance --cluster-use-empty-masters` (its defaults: 10 keys
    per MIGRATE, 60 s timeout); the add-node steps are not timed, for either tool;
  - agent: `redis-cluster-agent rebalance` (the internal verb over agent/migrate/), at each
    --parallel (source -> target pairs moved at once; 3 -> 4 masters has three pairs).
Afterwards each round checks: `redis-cli --cluster check` clean, masters even, every loaded key
present with its value (a checksum of all of them), every counter at least its acknowledged
increments; and reports the writer's longest gap (goal: at most 0.5 s; over the goal, what the
writer's client saw in that gap). Prints keys/s per round, the ratio agent / redis-cli (goal: at
least 10x), and draws keys moved and the writer's slowest write per second over time, each tool
in its own column (--png).

redis-cli at 1M keys moves 250k keys at ~500-800 keys/s on this machine (5-8 minutes a round);
--skip-cli leaves it out and the ratio is then taken against --cli-rate (keys/s of a redis-cli
round of an earlier run, e.g. the 200k one), said so in the output.

Usage: /usr/bin/python3 bench/scale.py [--keys 200000] [--parallel 1,3] [--batch 100]
           [--slots 256] [--costs] [--show-log] [--skip-cli --cli-rate KEYS_PER_S]
           [--png bench/scale.png] [--net 127.16] [--root /tmp/rca-bench-scale]
Needs root and a built agent (RCA_AGENT_BIN or build/agent/redis-cluster-agent; give a copy, so
a rebuild cannot change the binary under a running bench).
"""
import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "lib"))
sys.dont_write_bytecode = True

from localsts import REDIS_PORT, LocalStatefulSet, agent_binary  # noqa: E402
from plot import moves_and_latency  # noqa: E402
from report import verdict  # noqa: E402
from scaling import (balanced, check_clean, check_keys, load, make_cluster,  # noqa: E402
                     redis_cli_cluster)
from wait import wait_for  # noqa: E402
from writer import CounterWriter  # noqa: E402

NODE_TIMEOUT = 15000
PASSWORD = "bench-scale-Secret-1"
GAP_GOAL = 0.5
SAMPLE_EVERY = 0.2
QUIET = 2.0  # seconds of writes before and after the move, for the picture's baseline


class KeySampler(threading.Thread):
    """DBSIZE of one node every SAMPLE_EVERY seconds: [(monotonic time, keys)]."""

    def __init__(self, sts, ordinal):
        super().__init__(name="dbsize-sampler", daemon=True)
        self.client = sts.redis(ordinal, socket_timeout=2)
        self.samples = []
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            try:
                self.samples.append((time.monotonic(), self.client.dbsize()))
            except Exception:  # noqa: BLE001 - a missed sample is a gap in the line, no more
                pass
            self.stop_event.wait(SAMPLE_EVERY)

    def stop(self):
        self.stop_event.set()
        self.join(10)
        self.client.close()


def saving(sts):
    """(True, None) once no pod is writing a snapshot or rewriting its AOF."""
    for p in sts.pods:
        info = sts.command(p.ordinal, "INFO", "persistence")
        if "rdb_bgsave_in_progress:1" in info or "aof_rewrite_in_progress:1" in info:
            return False, f"redis-{p.ordinal} is saving"
    return True, None


def settle(sts):
    """Saves every pod's data now and waits for it: loading the keys makes each master snapshot
    ("save 60 10000") a few seconds later, and on this shared disk that stalled every master
    for up to 5.7 s in a 1M-key run, inside the move (see bench/README.md)."""
    for p in sts.pods:
        try:
            sts.command(p.ordinal, "BGSAVE")
        except Exception:  # noqa: BLE001 - one already running counts as well
            pass
    wait_for("snapshots after the load written", lambda: saving(sts), timeout=600, interval=0.5)


def run_redis_cli(sts, _args):
    return redis_cli_cluster(sts, "rebalance", f"{sts.pods[0].ip}:{REDIS_PORT}",
                             "--cluster-use-empty-masters", timeout=3600)


def run_agent(sts, args, parallel):
    r = subprocess.run([agent_binary(), "rebalance", "--seed", f"{sts.pods[0].ip}:{REDIS_PORT}",
                        "--password-file", sts.secret_path, "--batch-keys", str(args.batch),
                        "--batch-slots", str(args.slots), "--parallel", str(parallel)],
                       capture_output=True, text=True, timeout=3600)
    return r.returncode, r.stdout + r.stderr


def cpu_seconds():
    """{pid: (command line, CPU seconds used so far)} of every redis-server."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                cmd = f.read().replace("\0", " ").strip()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if cmd.startswith("redis-server"):
            out[pid] = (cmd, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return out


def pongs_sent(sts):
    """{ordinal: cluster_stats_messages_pong_sent}."""
    out = {}
    for p in sts.pods:
        for line in sts.command(p.ordinal, "CLUSTER", "INFO").splitlines():
            if line.startswith("cluster_stats_messages_pong_sent:"):
                out[p.ordinal] = int(line.split(":")[1])
    return out


def print_costs(keys, cpu_before, pongs_before, cpu_after, pongs_after):
    """What the move cost the servers: CPU seconds per process and PONGs sent per node."""
    total = 0.0
    for pid, (cmd, after) in sorted(cpu_after.items()):
        used = after - cpu_before.get(pid, (cmd, 0.0))[1]
        total += used
        print(f"    cpu {used:6.2f} s  {cmd}")
    print(f"    cpu {total:6.2f} s  all redis-servers = {total / max(keys, 1) * 1e6:.0f} us per "
          f"moved key")
    print("    PONGs sent during the move: " + ", ".join(
        f"redis-{o} {pongs_after[o] - pongs_before.get(o, 0)}" for o in sorted(pongs_after)))


def timed_move(sts, new_ordinal, move):
    """Runs move() with the writer and the sampler around it: (rc, output, seconds, writer,
    samples relative to the move's start, slowest write per second since the move's start)."""
    writer = CounterWriter(sts).start()
    sampler = KeySampler(sts, new_ordinal)
    sampler.start()
    time.sleep(QUIET)
    started = time.monotonic()
    rc, out = move()
    seconds = time.monotonic() - started
    time.sleep(QUIET)
    writer.stop()
    sampler.stop()
    samples = [(t - started, keys) for t, keys in sampler.samples]
    offset = writer.started - started
    # The writer's first second includes building its clients: not a write the move slowed.
    slowest = [(s + offset, v) for s, v in enumerate(writer.slowest()) if s > 0]
    return rc, out, seconds, writer, samples, slowest


def one_round(args, label, move):
    root = os.path.join(args.root, label.replace(" ", "-"))  # redis.conf paths take no spaces
    shutil.rmtree(root, ignore_errors=True)
    with LocalStatefulSet(root, pods=8, replicas=1, node_timeout=NODE_TIMEOUT, net=args.net,
                          with_agent=False, password=PASSWORD) as sts:
        new_id = make_cluster(sts, masters=3, new_masters=1)[0]
        new_ordinal = next(p.ordinal for p in sts.pods
                           if sts.command(p.ordinal, "CLUSTER", "MYID") == new_id)
        load(sts, args.keys)
        settle(sts)
        costs = {}

        def measured():
            costs["before"] = (cpu_seconds(), pongs_sent(sts))
            result = move(sts)
            costs["after"] = (cpu_seconds(), pongs_sent(sts))
            return result
        rc, out, seconds, writer, samples, slowest = timed_move(sts, new_ordinal, measured)
        if args.show_log:
            print(out)
        if rc != 0:
            raise SystemExit(f"{label} failed (rc {rc}):\n{out[-3000:]}")
        moved = sts.command(new_ordinal, "DBSIZE")
        clean, check = check_clean(sts)
        even, counts = balanced(sts)
        lost = check_keys(sts, args.keys)
        lost_writes = writer.check_counters()
        attempted, acked = writer.totals()
        gap = writer.longest_gap
        ok = clean and even and not lost and not lost_writes
        print(f"{label:>14}: {moved} keys in {seconds:6.2f} s = {moved / seconds:8.0f} keys/s; "
              f"longest write gap {gap:.3f} s; check {'clean' if clean else 'NOT clean'}, "
              f"slots {sorted(counts.values())}, {len(lost)} of {args.keys} keys lost/changed, "
              f"{acked} writes acknowledged of {attempted}, {len(lost_writes)} lost",
              flush=True)
        if not ok:
            print(check[-2000:], lost[:10], lost_writes[:10])
        if args.costs:
            print_costs(moved, *costs["before"], *costs["after"])
        if gap > GAP_GOAL:
            print("\n".join("    " + line for line in writer.report()))
        return {"label": label, "keys": moved, "seconds": seconds, "rate": moved / seconds,
                "gap": gap, "ok": ok, "samples": samples, "slowest": slowest}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=200000)
    ap.add_argument("--parallel", default="1,3", help="the agent's --parallel, one round each")
    ap.add_argument("--batch", type=int, default=100, help="the agent's --batch-keys")
    ap.add_argument("--slots", type=int, default=256, help="the agent's --batch-slots")
    ap.add_argument("--skip-cli", action="store_true", help="no redis-cli round (see above)")
    ap.add_argument("--cli-rate", type=float, help="with --skip-cli: redis-cli's keys/s")
    ap.add_argument("--costs", action="store_true",
                    help="print each redis-server's CPU seconds and each node's PONGs sent "
                         "during the move")
    ap.add_argument("--show-log", action="store_true", help="print the agent's log of each move")
    ap.add_argument("--png", default=os.path.join(HERE, "scale.png"))
    ap.add_argument("--net", default="127.16")
    ap.add_argument("--root", default="/tmp/rca-bench-scale")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (the local StatefulSet)")
    if args.skip_cli and not args.cli_rate:
        raise SystemExit("--skip-cli needs --cli-rate (redis-cli's keys/s from another run)")
    print(f"{args.keys} keys x 100 B, 3 -> 4 masters, cluster-node-timeout {NODE_TIMEOUT}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rounds = []
    if args.skip_cli:
        baseline = args.cli_rate
        print(f"redis-cli not run: its rate is taken as {baseline:.0f} keys/s (--cli-rate)")
    else:
        rounds.append(one_round(args, "redis-cli", lambda sts: run_redis_cli(sts, args)))
        baseline = rounds[0]["rate"]
    for n in agents(args):
        rounds.append(one_round(args, f"agent x{n}",
                                lambda sts, n=n: run_agent(sts, args, n)))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.png:
        moves_and_latency(args.png, f"3 -> 4 masters, {args.keys} keys x 100 B, writer running",
                          [(r["label"], r["samples"], r["slowest"], r["seconds"])
                           for r in rounds])
    goals = [(f"{r['label']}: nothing lost, check clean, masters even", r["ok"]) for r in rounds]
    for r in rounds[len(rounds) - len(agents(args)):]:
        goals += [(f"{r['label']}: {r['rate'] / baseline:.1f}x redis-cli's keys/s (>= 10x)",
                   r["rate"] >= 10 * baseline),
                  (f"{r['label']}: longest write gap {r['gap']:.3f} s (<= {GAP_GOAL} s)",
                   r["gap"] <= GAP_GOAL)]
    return verdict(goals)


def agents(args):
    return [int(p) for p in args.parallel.split(",")]


if __name__ == "__main__":
    sys.exit(main())
