#!/usr/bin/python3
"""Benchmark: what watching a healthy, idle cluster costs, before and after the attention model.

For each size (6, 24 and 48 pods by default) a fresh local StatefulSet (1 replica per master,
cluster-node-timeout 15000) is formed twice, once by the agent of the pre-attention commit
(BEFORE: every agent resolves and probes every pod every pass) and once by this build (AFTER:
each agent reads its own Redis, looks at a peer only when its view shows it amiss, plus a slow
sweep). After the cluster is healthy and --settle seconds of quiet, it measures over --window
seconds:

- commands/s served to the agents, all servers: the delta of INFO commandstats on every
  redis-server, minus the benchmark's own INFO calls and minus what replication itself sends
  (REPLCONF ACK from each replica every second, PING from each master every 10 s; the agent
  sends neither); nothing else talks to the servers;
- the agents' CPU: utime + stime of every agent process (/proc/<pid>/stat);
- name lookups/s of peer pods, counted twice, independently: by inotify IN_OPEN events on each
  pod's hosts file (bind-mounted over /etc/hosts in the agent's mount namespace; glibc's files
  backend opens it once per getaddrinfo, nothing else in the namespace reads it) and, AFTER
  only, by the agent's own counter redis_cluster_agent_peer_dns_lookups_total.

Goals (AFTER): per-pod commands/s and per-agent CPU at the largest size within 1.5x of the
smallest, and at most 5 commands/s per pod at every size. Exit code 0 when they hold.

BEFORE is the agent of --before-commit (default 591b0ca, main just before the attention model
was merged), built once into --before-dir with `git archive` + meson (or --before-bin).

With --tls the two variants are this build on plaintext and this build with TLS everywhere
(clients, cluster bus, replication; certificates made by openssl): what TLS adds to watching,
printed side by side with the ratios. The agent keeps its connections (no handshake per pass),
which the connections/s column shows (INFO stats total_connections_received, all servers).

Needs root (per-pod /etc/hosts, inotify on them) and a build (meson compile -C build).
Usage: bench/agent_cost.py [--sizes 6,24,48] [--settle 15] [--window 30] [--root DIR]
                           [--net 127.14] [--before-bin PATH] [--form agents|redis-cli] [--tls]
"""
import argparse
import collections
import ctypes
import os
import select
import shutil
import struct
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
import agent_http  # noqa: E402
import certs  # noqa: E402
from localsts import LocalStatefulSet  # noqa: E402

NODE_TIMEOUT = 15000
PRE_ATTENTION = "591b0ca"
CMDS_PER_POD_GOAL = 5.0
GROWTH_GOAL = 1.5
DNS_METRIC = "redis_cluster_agent_peer_dns_lookups_total"
REPLICATION = ("replconf", "ping")  # sent by Redis' replication links, not by the agents
IN_CLOSE_NOWRITE = 0x10
IN_OPEN = 0x20
IN_NONBLOCK = 0o4000


class HostsOpens:
    """Counts opens of the pods' hosts files with inotify, drained by a thread (a 48-pod BEFORE
    run opens them thousands of times a second, beyond the kernel's event queue). The kernel
    merges an event into an identical one still unread, so opens that overlap (lookups of one
    agent on several threads) can count once: a lower bound. Closes are watched too, so that
    one lookup after another never queues two identical events in a row."""

    def __init__(self, paths):
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for p in paths:
            if self.libc.inotify_add_watch(self.fd, p.encode(), IN_OPEN | IN_CLOSE_NOWRITE) < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {p}")
        self.opens = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while not self.stop.is_set():
            if not select.select([self.fd], [], [], 0.1)[0]:
                continue
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                continue
            off = 0
            while off < len(buf):
                _, mask, _, length = struct.unpack_from("iIII", buf, off)
                self.opens += 1 if mask & IN_OPEN else 0
                off += 16 + length

    def close(self):
        self.stop.set()
        self.thread.join()
        os.close(self.fd)


class PreAttentionSet(LocalStatefulSet):
    """The local StatefulSet for the pre-attention agent, whose `run` has no --include-file (it
    reads the include only since the password rotation)."""

    def agent_argv(self, i):
        return [a for a in super().agent_argv(i) if not a.startswith("--include-file=")]


def before_binary(args):
    if args.before_bin:
        return args.before_bin
    src = args.before_dir
    binary = os.path.join(src, "build", "agent", "redis-cluster-agent")
    if os.path.exists(binary):
        return binary
    print(f"building the pre-attention agent ({args.before_commit}) in {src} ...", flush=True)
    os.makedirs(src, exist_ok=True)
    archive = subprocess.run(["git", "-C", REPO, "archive", args.before_commit],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
    subprocess.run(["meson", "setup", "build"], cwd=src, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["meson", "compile", "-C", "build", "agent/redis-cluster-agent"], cwd=src,
                   check=True, stdout=subprocess.DEVNULL)
    return binary


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def commandstats(client):
    """{command: calls} from INFO commandstats."""
    return {k[len("cmdstat_"):]: v["calls"] for k, v in client.info("commandstats").items()}


def dns_counter(sts):
    total = 0
    for p in sts.pods:
        m = agent_http.metrics(p.ip)
        total += next(v for k, v in m.items() if k.startswith(DNS_METRIC))
    return total


def sample(sts, clients, with_counter):
    return {
        "t": time.monotonic(),
        "cmds": [commandstats(c) for c in clients],
        "conns": sum(c.info("stats")["total_connections_received"] for c in clients),
        "cpu": [cpu_seconds(p.agent.pid) for p in sts.pods],
        "dns": dns_counter(sts) if with_counter else None,
    }


def measure(sts, window, with_counter):
    clients = [sts.redis(p.ordinal) for p in sts.pods]
    opens = HostsOpens([sts.hosts_path(p.ordinal) for p in sts.pods])
    try:
        a = sample(sts, clients, with_counter)
        opens_a = opens.opens
        time.sleep(window)
        b = sample(sts, clients, with_counter)
        opens_b = opens.opens
    finally:
        opens.close()
        for c in clients:
            c.close()
    secs = b["t"] - a["t"]
    by_cmd = collections.Counter()
    for before, after in zip(a["cmds"], b["cmds"]):
        for cmd, calls in after.items():
            by_cmd[cmd] += calls - before.get(cmd, 0)
    by_cmd["info"] -= 2 * len(clients)  # the first sample's own INFOs, counted by the second
    replication = sum(by_cmd.pop(c, 0) for c in REPLICATION) / secs
    n = len(sts.pods)
    cmds = sum(by_cmd.values()) / secs
    cpu = (sum(b["cpu"]) - sum(a["cpu"])) / secs
    return {
        "pods": n, "cmds": cmds, "per_pod": cmds / n, "cpu": cpu, "cpu_per_agent": cpu / n,
        "replication": replication, "conns": (b["conns"] - a["conns"]) / secs,
        "dns_opens": (opens_b - opens_a) / secs,
        "dns_counter": (b["dns"] - a["dns"]) / secs if with_counter else None,
        "top": {k: v / secs for k, v in by_cmd.most_common(5) if v > 0},
    }


def form(sts, args):
    """--form agents: the agents create the cluster. --form redis-cli: `redis-cli --cluster
    create` does, then the agents start and learn the formed cluster (adoption)."""
    if args.form == "agents":
        sts.up()
        return
    sts.up(agent=False)
    subprocess.run(["redis-cli", "--cluster", "create", *[f"{p.ip}:6379" for p in sts.pods],
                    "--cluster-replicas", "1", "--cluster-yes"], check=True,
                   stdout=subprocess.DEVNULL)
    for p in sts.pods:
        sts.start_agent(p.ordinal)


def tls_dir(args):
    """A CA and the pods' certificate, made once under --root (tests/lib/certs.py)."""
    pods = os.path.join(args.root, "pki", "pods")
    if not os.path.exists(os.path.join(pods, "tls.crt")):
        certs.make_cert(certs.make_ca(os.path.join(args.root, "pki", "ca")), pods)
    return pods


def run_one(args, size, label, binary, net):
    root = os.path.join(args.root, f"{label}-{size}")
    shutil.rmtree(root, ignore_errors=True)
    os.environ["RCA_AGENT_BIN"] = binary
    kind = PreAttentionSet if label == "before" else LocalStatefulSet
    tls = tls_dir(args) if label == "tls" else None
    with kind(root, pods=size, replicas=1, node_timeout=NODE_TIMEOUT, net=net, tls=tls) as sts:
        t0 = time.monotonic()
        form(sts, args)
        started = time.monotonic() - t0
        sts.wait_healthy(timeout=args.form_timeout, interval=0.5)
        formed = time.monotonic() - t0
        time.sleep(args.settle)
        r = measure(sts, args.window, with_counter=label != "before")
    r["label"] = label
    r["formed"] = formed
    print(f"  {label:6s} {size:2d} pods: formed by {args.form} {formed:.1f} s after the first pod "
          f"started (every pod started after {started:.1f} s)", flush=True)
    top = ", ".join(f"{k} {v:.1f}" for k, v in r["top"].items())
    counter = "" if r["dns_counter"] is None else f" (agents' counter {r['dns_counter']:.1f})"
    print(f"  {label:6s} {size:2d} pods: {r['cmds']:8.1f} commands/s ({r['per_pod']:.2f} per "
          f"pod), agents' CPU {100 * r['cpu']:.1f}% of a core ({100 * r['cpu_per_agent']:.2f}% "
          f"per agent), name lookups {r['dns_opens']:.1f}/s{counter}, new connections "
          f"{r['conns']:.2f}/s; top: {top}; replication's own {r['replication']:.1f}/s", flush=True)
    return r


def table(results, sizes, labels):
    print()
    print("| pods | variant | formed after | commands/s, all servers | per pod | agents' CPU, "
          "% of a core | per agent | name lookups/s (hosts opens) | agents' counter | "
          "new connections/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        for label in labels:
            r = results[(label, size)]
            counter = "-" if r["dns_counter"] is None else f"{r['dns_counter']:.1f}"
            print(f"| {size} | {label} | {r['formed']:.1f} s | {r['cmds']:.1f} | {r['per_pod']:.2f} | "
                  f"{100 * r['cpu']:.1f} | {100 * r['cpu_per_agent']:.2f} | "
                  f"{r['dns_opens']:.1f} | {counter} | {r['conns']:.2f} |")


def tls_ratios(results, sizes):
    """TLS beside plaintext: informational (the issue asks for the cost printed, not a goal)."""
    for size in sizes:
        p, t = results[("plaintext", size)], results[("tls", size)]
        print(f"  {size} pods: tls/plaintext commands {t['cmds'] / p['cmds']:.3f}, CPU per agent "
              f"{t['cpu_per_agent'] / p['cpu_per_agent'] if p['cpu_per_agent'] else float('nan'):.3f}"
              f", new connections/s {p['conns']:.2f} -> {t['conns']:.2f}")


def goals(results, sizes):
    lo, hi = results[("after", sizes[0])], results[("after", sizes[-1])]
    checks = []
    for key, what in (("per_pod", "per-pod commands/s"), ("cpu_per_agent", "per-agent CPU")):
        ratio = hi[key] / lo[key] if lo[key] > 0 else float("inf")
        checks.append((ratio <= GROWTH_GOAL,
                       f"{what}: {sizes[-1]} pods / {sizes[0]} pods = {ratio:.2f} "
                       f"(goal <= {GROWTH_GOAL})"))
    worst = max(results[("after", s)]["per_pod"] for s in sizes)
    checks.append((worst <= CMDS_PER_POD_GOAL,
                   f"commands/s per pod at most {worst:.2f} (goal <= {CMDS_PER_POD_GOAL:.0f})"))
    for size in sizes:
        b, a = results[("before", size)], results[("after", size)]
        print(f"  {size} pods: after/before commands {a['cmds'] / b['cmds']:.3f}, CPU "
              f"{a['cpu'] / b['cpu']:.3f}, name lookups "
              f"{a['dns_opens'] / b['dns_opens'] if b['dns_opens'] else float('nan'):.3f}")
    print()
    for ok, text in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return all(ok for ok, _ in checks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="6,24,48")
    ap.add_argument("--settle", type=float, default=15)
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--form-timeout", type=float, default=240)
    ap.add_argument("--form", choices=("agents", "redis-cli"), default="agents")
    ap.add_argument("--root", default="/tmp/rca-bench-agent-cost")
    ap.add_argument("--net", default="127.14")
    ap.add_argument("--before-commit", default=PRE_ATTENTION)
    ap.add_argument("--before-dir", default="/tmp/rca-bench-agent-cost-before")
    ap.add_argument("--before-bin")
    ap.add_argument("--tls", action="store_true",
                    help="compare this build on plaintext with this build on TLS (no before)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    after = os.environ.get("RCA_AGENT_BIN",
                           os.path.join(REPO, "build", "agent", "redis-cluster-agent"))
    print(f"healthy, idle clusters formed by {args.form} (1 replica per master, node-timeout "
          f"{NODE_TIMEOUT}), {args.settle:.0f} s of quiet, then {args.window:.0f} s measured")
    variants = [("plaintext", after), ("tls", after)] if args.tls else \
        [("before", before_binary(args)), ("after", after)]
    results = {}
    for size in sizes:
        for label, binary in variants:
            results[(label, size)] = run_one(args, size, label, binary, args.net)
    table(results, sizes, [label for label, _ in variants])
    print()
    if args.tls:
        tls_ratios(results, sizes)
        sys.exit(0)
    sys.exit(0 if goals(results, sizes) else 1)


if __name__ == "__main__":
    main()
