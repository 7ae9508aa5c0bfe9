#!/usr/bin/python3
"""Benchmark: the agent's /metrics and /readyz against prometheus-redis-exporter's /metrics.

One run, one Redis: a local StatefulSet of 6 pods (agents included) and a Debian
prometheus-redis-exporter pointed at pod 0's Redis. Each target gets the same bounded load, in
interleaved blocks so background noise hits all of them alike; every request is a new
connection, like the kubelet's prober. Reports latency p50/p99, CPU per 1000 scrapes (of the
serving process and of Redis), VmRSS and RssAnon, and the ratios against the goals:
agent p99 <= 1 ms and <= 1/4 of the exporter's, agent RssAnon <= 1/2 of the exporter's.
Every process it starts is stopped by pid, also on failure. Not part of CI.

Usage (as root, after meson compile -C build):
  bench/metrics_vs_exporter.py [--requests 3000] [--root /tmp/rca-bench-metrics] [--net 127.132]
"""
import argparse
import http.client
import os
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "lib"))
from localsts import HTTP_PORT, REDIS_PORT, LocalStatefulSet, Process  # noqa: E402

TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")
BLOCKS = 10


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                out[key] = int(value.split()[0]) / 1024.0
    return out


def request(host, port, path):
    """Seconds from connect to the last byte of the body, and the body's size."""
    begin = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    elapsed = time.perf_counter() - begin
    conn.close()
    if r.status not in (200, 503):
        raise RuntimeError(f"GET {host}:{port}{path}: HTTP {r.status}")
    return elapsed, len(body)


class Target:
    def __init__(self, name, host, port, path, pid, redis_pid):
        self.name, self.host, self.port, self.path = name, host, port, path
        self.pid, self.redis_pid = pid, redis_pid
        self.latencies, self.cpu, self.redis_cpu, self.size = [], 0.0, 0.0, 0

    def block(self, n):
        cpu0, rcpu0 = cpu_ms(self.pid), cpu_ms(self.redis_pid)
        for _ in range(n):
            elapsed, self.size = request(self.host, self.port, self.path)
            self.latencies.append(elapsed)
        self.cpu += cpu_ms(self.pid) - cpu0
        self.redis_cpu += cpu_ms(self.redis_pid) - rcpu0

    def pct(self, q):
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0


def start_exporter(root, redis_addr, listen):
    proc = Process.spawn(["prometheus-redis-exporter", f"-redis.addr=redis://{redis_addr}",
                          f"-web.listen-address={listen}"], os.path.join(root, "exporter.log"))
    host, port = listen.rsplit(":", 1)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            request(host, int(port), "/metrics")
            return proc
        except OSError:
            time.sleep(0.1)
    proc.stop()
    raise TimeoutError("prometheus-redis-exporter did not answer")


def report(targets, agent_pid, exporter_pid, idle_ms_per_s):
    agent_m, agent_r, exp = targets
    print(f"\n{'target':<26}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'CPU ms/1k':>11}"
          f"{'Redis CPU ms/1k':>17}{'bytes':>8}")
    for t in targets:
        n = len(t.latencies)
        print(f"{t.name:<26}{t.pct(0.5):>9.3f}{t.pct(0.99):>9.3f}{max(t.latencies) * 1000:>9.3f}"
              f"{t.cpu * 1000 / n:>11.1f}{t.redis_cpu * 1000 / n:>17.1f}{t.size:>8}")
    am, em = memory(agent_pid), memory(exporter_pid)
    print(f"\n{'process':<26}{'VmRSS MiB':>11}{'RssAnon MiB':>13}")
    print(f"{'agent (pod 0)':<26}{am['VmRSS']:>11.1f}{am['RssAnon']:>13.1f}")
    print(f"{'redis_exporter':<26}{em['VmRSS']:>11.1f}{em['RssAnon']:>13.1f}")
    print(f"\nagent loop when idle: {idle_ms_per_s:.2f} ms CPU per second (included above)")
    checks = [
        ("agent /metrics p99 <= 1 ms", agent_m.pct(0.99) <= 1.0, f"{agent_m.pct(0.99):.3f} ms"),
        ("agent /readyz p99 <= 1 ms", agent_r.pct(0.99) <= 1.0, f"{agent_r.pct(0.99):.3f} ms"),
        ("agent /metrics p99 <= 1/4 exporter", agent_m.pct(0.99) <= exp.pct(0.99) / 4,
         f"ratio {agent_m.pct(0.99) / exp.pct(0.99):.3f}"),
        ("agent /readyz p99 <= 1/4 exporter", agent_r.pct(0.99) <= exp.pct(0.99) / 4,
         f"ratio {agent_r.pct(0.99) / exp.pct(0.99):.3f}"),
        ("agent RssAnon <= 1/2 exporter", am["RssAnon"] <= em["RssAnon"] / 2,
         f"ratio {am['RssAnon'] / em['RssAnon']:.3f}"),
    ]
    print()
    for what, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what:<38} {detail}")
    print(f"      agent /metrics p50 / exporter p50: {agent_m.pct(0.5) / exp.pct(0.5):.3f}; "
          f"VmRSS ratio {am['VmRSS'] / em['VmRSS']:.3f}")
    return all(ok for _, ok, _ in checks)


def run(args):
    shutil.rmtree(args.root, ignore_errors=True)
    sts = LocalStatefulSet(os.path.join(args.root, "sts"), pods=6, replicas=1, net=args.net)
    exporter = None
    try:
        sts.up()
        sts.wait_healthy(timeout=60)
        pod = sts.pods[0]
        exporter = start_exporter(args.root, f"{pod.ip}:{REDIS_PORT}", f"{args.net}.0.201:9121")
        cpu0 = cpu_ms(pod.agent.pid)
        time.sleep(5)
        idle = (cpu_ms(pod.agent.pid) - cpu0) / 5.0
        targets = [Target("agent /metrics", pod.ip, HTTP_PORT, "/metrics", pod.agent.pid,
                          pod.redis.pid),
                   Target("agent /readyz", pod.ip, HTTP_PORT, "/readyz", pod.agent.pid,
                          pod.redis.pid),
                   Target("redis_exporter /metrics", f"{args.net}.0.201", 9121, "/metrics",
                          exporter.pid, pod.redis.pid)]
        for t in targets:  # warm-up, not measured
            for _ in range(100):
                request(t.host, t.port, t.path)
        per_block = max(1, args.requests // BLOCKS)
        for _ in range(BLOCKS):
            for t in targets:
                t.block(per_block)
        print(f"{per_block * BLOCKS} requests per target, new connection each, "
              f"{BLOCKS} interleaved blocks; Redis {sts.command(0, 'INFO', 'server').split('redis_version:')[1].split()[0]}, "
              f"cluster of 6 pods")
        return 0 if report(targets, pod.agent.pid, exporter.pid, idle) else 1
    finally:
        if exporter:
            exporter.stop()
        sts.down()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--root", default="/tmp/rca-bench-metrics")
    ap.add_argument("--net", default="127.132")
    return run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
