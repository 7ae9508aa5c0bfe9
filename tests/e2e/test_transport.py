"""The agent's Redis connections against hostile and misconfigured servers (issue 12, items 3
and 5), end to end with real agents.

- With `rename-command AUTH ""`, Redis echoes AUTH's argument (the password) in its error; no
  output of the agent may contain it: log, `status`, `status --json`, `/readyz?verbose`,
  `/metrics`.
- A peer that drip-feeds a reply or announces a gigantic one must neither wedge the agent's loop
  nor bloat it, and SIGTERM must still end the agent promptly.
"""
import secrets
import signal
import socket
import threading
import time

import agent_http
from agent_http import DOWN
from localsts import REDIS_PORT
from memory import rss_mb, sanitized
from wait import wait_for, wait_listening




def status_text(sts, *extra):
    """`status` output (stdout + stderr) as the operator sees it."""
    rc, out = sts.status(json_output=False, extra=list(extra))
    return out


def test_the_password_never_leaves_the_agent_when_auth_is_renamed(sts_factory):
    password = "pw-" + secrets.token_hex(24)
    sts = sts_factory(pods=3, replicas=0, password=password,
                      redis_conf=['rename-command AUTH ""'])
    sts.up(wait=False)
    for p in sts.pods:
        wait_listening(p.ip, REDIS_PORT)
    # Every agent has met the refusal (its readiness says why Redis does not answer).
    wait_for("every agent meeting the refusal",
             lambda: all("'AUTH'" in agent_http.get(p.ip, "/readyz?verbose")[1]
                         for p in sts.pods), 20)

    outputs = {f"log {i}": sts.agent_log_text(i) for i in range(3)}
    outputs["status"] = status_text(sts)
    outputs["status --json"] = status_text(sts, "--json")
    for p in sts.pods:
        outputs[f"readyz {p.name}"] = agent_http.get(p.ip, "/readyz?verbose")[1]
        outputs[f"metrics {p.name}"] = agent_http.get(p.ip, "/metrics")[1]
    for where, text in outputs.items():
        assert password not in text, where
        assert password[:12] not in text, where
    # The refusal itself reaches the operator, scrubbed and with what to fix.
    for where in ("status", "status --json", "readyz redis-0"):
        assert "rename-command" in outputs[where], (where, outputs[where][-2000:])
        assert "<redacted>" in outputs[where], (where, outputs[where][-2000:])


class HostilePeer:
    """Stands in for a pod's Redis and answers every command with an attack, one per connection
    in turn: a bulk of 100 MB drip-fed one byte every 300 ms (refused at its header), a bulk of
    1000 bytes drip-fed the same way (within the caps: only the deadline ends it), and an array
    of 2 billion elements followed by as many elements as the client reads."""

    def __init__(self, ip):
        self.sock = socket.create_server((ip, REDIS_PORT), reuse_port=False, backlog=64)
        self.sock.settimeout(0.2)
        self.halt = threading.Event()
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.halt.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            attack = (self._drip_huge, self._drip_small, self._flood)[self.connections % 3]
            threading.Thread(target=attack, args=(conn,), daemon=True).start()

    def _drip_huge(self, conn):
        self._drip(conn, b"$100000000\r\n")

    def _drip_small(self, conn):
        self._drip(conn, b"$1000\r\n")

    def _drip(self, conn, header):
        try:
            conn.recv(65536)
            conn.sendall(header)
            while not self.halt.wait(0.3):
                conn.sendall(b"x")
        except OSError:
            pass
        finally:
            conn.close()

    def _flood(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(b"*2000000000\r\n")
            chunk = b":1\r\n" * 16384
            while not self.halt.is_set():
                conn.sendall(chunk)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.halt.set()
        self.sock.close()
        self.thread.join(2)


def test_a_hostile_peer_neither_wedges_nor_bloats_the_agent(sts_factory):
    sts = sts_factory(pods=3, replicas=0)
    sts.start_pods([0, 1])
    hostile = sts.pods[2]
    hostile.running = True  # its DNS record points at the hostile server
    sts.write_hosts()
    peer = HostilePeer(hostile.ip)
    try:
        for p in sts.pods[:2]:
            wait_for(f"{p.name}'s agent listening",
                     lambda: agent_http.get(p.ip, "/livez")[0] != DOWN, 10, 0.05)
        t0, worst_rss, livez = time.monotonic(), 0.0, []
        start_rss = {p.ordinal: rss_mb(p.agent.pid) for p in sts.pods[:2]}
        worst_growth = 0.0
        while time.monotonic() - t0 < 12:
            for p in sts.pods[:2]:
                livez.append(agent_http.get(p.ip, "/livez", timeout=2)[0])
                rss = rss_mb(p.agent.pid)
                worst_rss = max(worst_rss, rss)
                worst_growth = max(worst_growth, rss - start_rss[p.ordinal])
            time.sleep(0.25)
        print(f"\nhostile peer: {peer.connections} connections in 12 s, agents' largest RSS "
              f"{worst_rss:.1f} MB")
        assert peer.connections >= 4, "the agents did not keep probing the hostile peer"
        assert all(s == 200 for s in livez), livez
        assert worst_growth < 30, f"an agent grew by {worst_growth:.0f} MB"
        if not sanitized(sts.pods[0].agent.pid):  # ASan's shadow memory sets its own floor
            assert worst_rss < 80, f"an agent grew to {worst_rss:.0f} MB"

        # status probes the hostile pod too, with a bounded cost.
        started = time.monotonic()
        text = status_text(sts)
        assert time.monotonic() - started < 10, text
        assert "redis-2" in text
        print(f"status took {time.monotonic() - started:.2f} s")

        # SIGTERM ends each agent within its budget (no wedged thread).
        for p in sts.pods[:2]:
            started = time.monotonic()
            p.agent.send(signal.SIGTERM)
            assert p.agent.wait(10), f"{p.name}'s agent ignored SIGTERM"
            assert time.monotonic() - started < 10
            print(f"{p.name}'s agent exited {time.monotonic() - started:.2f} s after SIGTERM")
    finally:
        peer.close()
