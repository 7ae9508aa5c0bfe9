"""Issue 12, defect 4: the probe port must not be starved or bloated by hostile clients.

Each test runs the exact attack of the issue against a real agent of a real 3-node cluster,
while a prober asks /livez the way the kubelet does (a new connection per request, the
chart's 2 s timeout). The agent must keep answering /livez well within that timeout, and its
resident memory must stay far below the chart's 128 Mi limit. Before the listener bounded its
reads (cpp-httplib's 4 workers, a 5 s read timeout per recv and no header count), every one of
these failed: /livez timed out behind 4 slowloris connections or 200 silent ones, and a request
with a million headers left the agent at 120 MB, four of 500 000 at 225 MB.
"""
import socket
import threading
import time

import agent_http
from localsts import HTTP_PORT
from memory import rss_mb, sanitized

PROBE_TIMEOUT = 2.0  # the chart's livenessProbe.timeoutSeconds
CHART_LIMIT_MB = 128


def assert_far_below_chart_limit(pid, mb):
    if not sanitized(pid):
        assert mb < CHART_LIMIT_MB / 4, f"RSS {mb:.1f} MB"


class Prober(threading.Thread):
    """GET /livez every `every` seconds, like a kubelet; records (status, seconds) per probe."""

    def __init__(self, ip, every=0.25):
        super().__init__(daemon=True)
        self.ip, self.every, self.results = ip, every, []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            begin = time.monotonic()
            status, _ = agent_http.get(self.ip, "/livez", timeout=PROBE_TIMEOUT)
            self.results.append((status, time.monotonic() - begin))
            self.halt.wait(max(0.0, self.every - (time.monotonic() - begin)))

    def stop(self):
        self.halt.set()
        self.join(10)
        return self.results


def assert_probes_kept_answering(results, at_least):
    failed = [r for r in results if r[0] != 200]
    slowest = max(seconds for _, seconds in results)
    print(f"probes: {len(results)}, failed: {len(failed)}, slowest: {slowest * 1000:.0f} ms")
    assert len(results) >= at_least, results
    assert not failed, f"{len(failed)} of {len(results)} probes failed: {failed[:5]}"
    # Well within the probe timeout, not just under it.
    assert slowest < PROBE_TIMEOUT / 2, f"slowest /livez took {slowest:.2f}s"


def connect(ip):
    s = socket.create_connection((ip, HTTP_PORT), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    return s


def send_quietly(sock, data):
    """Sends as much as the agent takes; it may close the connection at its limit."""
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


def one_agent(sts_factory):
    sts = sts_factory(pods=3, replicas=0)
    sts.up()
    sts.wait_healthy(timeout=60)
    pod = sts.pods[0]
    return sts, pod.ip, pod.agent.pid


def test_four_slowloris_connections_do_not_starve_livez(sts_factory):
    sts, ip, _ = one_agent(sts_factory)
    slow = [connect(ip) for _ in range(4)]
    for s in slow:
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: agent\r\n")
    prober = Prober(ip)
    prober.start()
    # One header byte a second: within any per-read timeout, so only a budget for the whole
    # head ends it.
    closed = set()
    for _ in range(12):
        for n, s in enumerate(slow):
            if not send_quietly(s, b"X"):
                closed.add(n)
        time.sleep(1)
    assert_probes_kept_answering(prober.stop(), at_least=30)
    assert closed == {0, 1, 2, 3}, "the slow connections outlived the head budget"
    for s in slow:
        s.close()


def test_two_hundred_silent_connections_do_not_starve_livez(sts_factory):
    sts, ip, _ = one_agent(sts_factory)
    silent = [connect(ip) for _ in range(200)]
    prober = Prober(ip)
    prober.start()
    time.sleep(10)
    assert_probes_kept_answering(prober.stop(), at_least=30)
    for s in silent:
        s.close()


def header_flood(ip, headers, answers):
    s = connect(ip)
    send_quietly(s, b"GET /livez HTTP/1.1\r\nHost: agent\r\n")
    chunk = b"X-a: b\r\n" * 10000
    for _ in range(headers // 10000):
        if not send_quietly(s, chunk):
            break
    send_quietly(s, b"\r\n")
    s.settimeout(10)
    try:
        answers.append(s.recv(64))
    except OSError as e:
        answers.append(repr(e).encode())
    s.close()


def test_a_million_headers_do_not_bloat_the_agent(sts_factory):
    sts, ip, pid = one_agent(sts_factory)
    before = rss_mb(pid)
    prober = Prober(ip)
    prober.start()
    answers = []
    header_flood(ip, 1_000_000, answers)
    time.sleep(1)
    after = rss_mb(pid)
    print(f"RSS before {before:.1f} MB, after 1M headers {after:.1f} MB")
    assert_probes_kept_answering(prober.stop(), at_least=4)
    assert answers[0].startswith(b"HTTP/1.1 431"), answers
    assert after < before + 8, f"RSS {before:.1f} MB -> {after:.1f} MB"
    assert_far_below_chart_limit(pid, after)


def test_four_times_half_a_million_headers_stay_far_below_the_chart_limit(sts_factory):
    sts, ip, pid = one_agent(sts_factory)
    before = rss_mb(pid)
    prober = Prober(ip)
    prober.start()
    answers = []
    floods = [threading.Thread(target=header_flood, args=(ip, 500_000, answers)) for _ in range(4)]
    peak = before
    for t in floods:
        t.start()
    while any(t.is_alive() for t in floods):
        peak = max(peak, rss_mb(pid))
        time.sleep(0.05)
    for t in floods:
        t.join()
    time.sleep(1)
    print(f"RSS before {before:.1f} MB, peak during 4 x 500k headers {peak:.1f} MB")
    assert_probes_kept_answering(prober.stop(), at_least=4)
    assert all(a.startswith(b"HTTP/1.1 431") for a in answers), answers
    assert peak < before + 8, f"RSS {before:.1f} MB -> peak {peak:.1f} MB"
    assert_far_below_chart_limit(pid, peak)
    # The limits counted every refused connection (the metric an alert watches).
    errors = agent_http.metrics(ip)['redis_cluster_agent_errors_total{kind="http_refused"}']
    assert errors >= 4
