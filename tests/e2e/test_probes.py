"""The agent's probes through a cluster's life, sampled every 100 ms like a very eager kubelet.

Phases: fresh start, loading a large dataset, formed, master killed, replica syncing, full
restart. For every phase a table says which pods may change readiness and how often; a pod that
flips more often than its row allows is flapping. Pods are always restarted on their own IP
(healing of new IPs is not what these tests are about).
"""
import os
import shutil
import signal
import threading
import time

import pytest
import redis as redispy

import agent_http
from agent_http import DOWN
from wait import wait_for

READY, UNREADY = "ready", "unready"
SAMPLE_EVERY = 0.1


class Sampler(threading.Thread):
    """Asks every pod's /readyz?verbose (and every 5th round /livez) every 100 ms."""

    def __init__(self, sts):
        super().__init__(daemon=True)
        self.sts, self.phase, self.samples, self.livez = sts, "start", [], []
        self.halt = threading.Event()

    def run(self):
        rounds = 0
        while not self.halt.is_set():
            begin = time.monotonic()
            for p in self.sts.pods:
                status, body = agent_http.get(p.ip, "/readyz?verbose", timeout=0.5)
                state = DOWN if status == DOWN else READY if status == 200 else UNREADY
                self.samples.append((begin, self.phase, p.ordinal, state, body))
                if rounds % 5 == 0:
                    self.livez.append((self.phase, p.ordinal, agent_http.get(p.ip, "/livez")[0]))
            rounds += 1
            self.halt.wait(max(0.0, SAMPLE_EVERY - (time.monotonic() - begin)))

    def stop(self):
        self.halt.set()
        self.join(5)

    def of(self, phase, pod):
        return [(t, state, body) for t, ph, o, state, body in self.samples
                if ph == phase and o == pod]

    def flips(self, phase, pod):
        """Changes between ready and not ready (unready or down) during the phase, counting from
        the pod's last state before it."""
        flips, before = 0, None
        for _, ph, o, state, _ in self.samples:
            if o != pod:
                continue
            ready = state == READY
            if ph == phase and before is not None and ready != before:
                flips += 1
            before = ready
        return flips

    def runs(self, phase, pod):
        """The phase's samples of one pod as runs: [(state, seconds from the phase start,
        samples, failing checks of the run's last sample)]."""
        samples = self.of(phase, pod)
        out = []
        for t, state, body in samples:
            if out and out[-1][0] == state:
                out[-1][2] += 1
                out[-1][3] = agent_http.failing_checks(body) if state == UNREADY else []
            else:
                out.append([state, round(t - samples[0][0], 1), 1,
                            agent_http.failing_checks(body) if state == UNREADY else []])
        return out

    def table(self):
        phases = list(dict.fromkeys(ph for _, ph, _, _, _ in self.samples))
        lines = ["phase            " + " ".join(f"pod{i}" for i in range(len(self.sts.pods)))]
        for ph in phases:
            lines.append(f"{ph:<16} " + " ".join(
                f"{self.flips(ph, i):>4}" for i in range(len(self.sts.pods))))
        last = phases[-1] if phases else None
        detail = [f"pod{i}: {self.runs(last, i)}" for i in range(len(self.sts.pods))]
        return ("flips per phase and pod:\n" + "\n".join(lines) + f"\nruns in {last}:\n" +
                "\n".join(detail))


def wait_all_ready(sts, timeout):
    def ready():
        unready = {p.name: body for p in sts.pods
                   for status, body in [agent_http.get(p.ip, "/readyz?verbose")] if status != 200}
        return not unready, unready
    wait_for("every pod ready", ready, timeout)


def observe(seconds):
    """Lets the sampler watch a settled phase for `seconds`: flaps after a pod is ready are
    what the budgets catch, so this is a window, not a wait for a condition."""
    time.sleep(seconds)


def role_of(sts, i):
    return sts.command(i, "ROLE")[0].decode()


def master_of(sts, replica):
    """Ordinal of the pod whose Redis `replica` replicates."""
    host = sts.command(replica, "ROLE")[1].decode()
    return next(p.ordinal for p in sts.pods if p.ip == host)


def replica_of(sts, master):
    return next(p.ordinal for p in sts.pods
                if role_of(sts, p.ordinal) == "slave" and master_of(sts, p.ordinal) == master)


def slot_tag(sts, i):
    """A hash tag whose slot pod i's master owns."""
    from redis.crc import key_slot
    mine = [l for l in sts.command(i, "CLUSTER", "NODES").splitlines() if "myself" in l][0]
    first, last = (int(x) for x in mine.split()[8].split("-"))
    return next(f"t{n}" for n in range(100000) if first <= key_slot(f"t{n}".encode()) <= last)


def fill(sts, i, keys):
    """Writes `keys` keys into pod i's slots, then rewrites its AOF so they load from its RDB
    preamble (where key-load-delay applies)."""
    tag = slot_tag(sts, i)
    r = sts.redis(i, socket_timeout=30)
    for start in range(0, keys, 5000):
        r.mset({f"{{{tag}}}k{n}": "v" * 32 for n in range(start, min(keys, start + 5000))})
    r.bgrewriteaof()

    def rewritten():
        info = r.info("persistence")
        return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]
    wait_for("the AOF rewrite", rewritten, 60)


def serve_trail(sts, i, tag, timeout):
    """Every 50 ms: a SET on pod i's own slots straight to its Redis, then its /readyz, until
    both have succeeded for 1 s; [(seconds, write outcome, /readyz status)]."""
    trail, good, began = [], 0, time.monotonic()

    def served():
        nonlocal good
        r = sts.redis(i, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            r.set(f"{{{tag}}}served", "1")
            outcome = "ok"
        except redispy.exceptions.RedisError as e:
            outcome = f"{type(e).__name__}: {e}"
        finally:
            r.close()
        status, _ = agent_http.get(sts.pods[i].ip, "/readyz", timeout=0.5)
        trail.append((time.monotonic() - began, outcome, status))
        good = good + 1 if outcome == "ok" and status == 200 else 0
        return good >= 20
    wait_for("the restarted master serving and ready for 1 s", served, timeout, interval=0.05)
    return trail


def slow_loading(delay_us):
    """A before_redis hook: the pod's next start loads `delay_us` slower per key (the include
    file is rewritten by prepare at every start, so the setting lasts one start)."""
    def hook(sts, i):
        with open(os.path.join(sts.run_dir(i), "redis-agent.conf"), "a") as f:
            f.write(f"key-load-delay {delay_us}\nloading-process-events-interval-bytes 65536\n")
    return hook


def wait_loading_seen(sts, i, timeout=15):
    def loading():
        try:
            return sts.redis(i, socket_timeout=2).info("persistence")["loading"]
        except (redispy.exceptions.ConnectionError, redispy.exceptions.TimeoutError):
            return False
    wait_for("the restarted pod reporting loading:1", loading, timeout, interval=0.05)


@pytest.mark.slow
def test_probe_status_per_phase(sts_factory):
    sts = sts_factory(pods=6, replicas=1, node_timeout=4000)
    sampler = Sampler(sts)
    sampler.start()
    try:
        run_phases(sts, sampler)
    finally:
        sampler.stop()
    print(sampler.table())


def assert_flap_budget(s, phase, pod, partner=None):
    """In `phase`, the disturbed pod went unready and back exactly once, its partner (replica or
    heir) at most once, and every other pod never."""
    assert s.flips(phase, pod) == 2, s.table()
    if partner is not None:
        assert s.flips(phase, partner) <= 2, s.table()
    for i in range(6):
        if i not in (pod, partner):
            assert s.flips(phase, i) == 0, s.table()


def run_phases(sts, s):

    # Fresh start: not ready until the agents formed the cluster, then ready for good.
    s.phase = "fresh"
    sts.up()
    sts.wait_healthy(timeout=60)
    wait_all_ready(sts, 30)
    observe(2)
    for i in range(6):
        states = [st for _, st, _ in s.of("fresh", i)]
        assert states[0] != READY, s.table()
        assert states[-1] == READY
        assert s.flips("fresh", i) == 1, s.table()

    # Formed: nothing happens, nothing may change.
    s.phase = "formed"
    observe(5)
    for i in range(6):
        assert s.flips("formed", i) == 0, s.table()
        assert all(st == READY for _, st, _ in s.of("formed", i))

    # Master restarted in place (back within node-timeout: no failover): Redis answers
    # CLUSTERDOWN for 2 s after it starts, even for its own slots; /readyz must not say ready
    # while it does.
    s.phase = "master-restart"
    victim = next(i for i in range(6) if role_of(sts, i) == "master")
    tag = slot_tag(sts, victim)
    sts.stop_pod(victim)
    sts.start_pod(victim, new_ip=False, wait=False)
    trail = serve_trail(sts, victim, tag, timeout=30)
    assert role_of(sts, victim) == "master", "failed over: the restart took longer than node-timeout"
    down = [t for t, outcome, _ in trail if "CLUSTERDOWN" in outcome]
    assert down, f"the restarted master never answered CLUSTERDOWN: nothing was tested: {trail}"
    ready_while_down = [(t, o) for t, o, status in trail if status == 200 and o != "ok"]
    assert not ready_while_down, f"ready while not serving: {ready_while_down}"
    wait_all_ready(sts, 60)
    observe(2)
    assert_flap_budget(s, "master-restart", victim, replica_of(sts, victim))

    # Loading: a master restarted on a dataset that takes seconds to load.
    loader = next(i for i in range(6) if role_of(sts, i) == "master")
    loader_replica = replica_of(sts, loader)
    fill(sts, loader, 30000)
    s.phase = "loading"
    sts.stop_pod(loader)
    sts.start_pod(loader, new_ip=False, wait=False, before_redis=slow_loading(100))
    wait_loading_seen(sts, loader)
    wait_all_ready(sts, 60)
    observe(2)
    loading = [t for t, st, body in s.of("loading", loader)
               if "[-]redis-loading failed" in body]
    assert loading and loading[-1] - loading[0] >= 2.0, "loading was not seen for seconds"
    assert_flap_budget(s, "loading", loader, loader_replica)

    # Master killed: its replica takes over, the old master comes back as a replica.
    s.phase = "master-killed"
    victim = next(i for i in range(6) if role_of(sts, i) == "master")
    heir = replica_of(sts, victim)
    sts.kill_pod(victim)
    wait_for("the failover to the replica", lambda: role_of(sts, heir) == "master", 30)
    sts.start_pod(victim, new_ip=False)
    wait_all_ready(sts, 60)
    observe(2)
    assert role_of(sts, victim) == "slave"
    assert_flap_budget(s, "master-killed", victim, heir)

    # Replica syncing: a replica restarted without its data needs a full sync (the master
    # waits repl-diskless-sync-delay, 5 s, before it streams).
    s.phase = "replica-sync"
    syncer = next(i for i in range(6) if role_of(sts, i) == "slave")
    sts.stop_pod(syncer)
    shutil.rmtree(os.path.join(sts.data_dir(syncer), "appendonlydir"))
    sts.start_pod(syncer, new_ip=False)
    wait_all_ready(sts, 60)
    observe(2)
    bodies = [b for _, st, b in s.of("replica-sync", syncer) if st == UNREADY]
    assert any("[-]replication failed" in b for b in bodies), bodies[-3:]
    assert_flap_budget(s, "replica-sync", syncer)

    # Full restart: every pod at once, same IPs; no deadlock, each pod back exactly once.
    s.phase = "full-restart"
    for i in range(6):
        sts.stop_pod(i)
    sts.start_pods(range(6))
    wait_all_ready(sts, 90)
    observe(3)
    for i in range(6):
        assert s.flips("full-restart", i) == 2, s.table()
    sts.wait_healthy(timeout=30)

    # The agents' loops never stalled while they ran.
    assert not [x for x in s.livez if x[2] not in (200, DOWN)], s.livez


def test_startup_does_not_wait_for_redis(sts_factory):
    """The agent's startupProbe gates the redis container (native sidecar): /startupz must pass
    while Redis is not running, and /readyz must say why the pod is not ready."""
    sts = sts_factory(pods=3, replicas=0)
    sts.up()
    sts.wait_healthy(timeout=60)
    sts.stop_pod(2)
    sts.start_agent(2)
    try:
        ip = sts.pods[2].ip
        def started():
            status, body = agent_http.get(ip, "/startupz?verbose")
            return status == 200, body
        wait_for("/startupz passing without Redis", started, 5, interval=0.05)
        assert agent_http.get(ip, "/livez") == (200, "ok\n")
        status, body = agent_http.get(ip, "/readyz")
        assert status == 503
        assert "[-]redis-ping failed: Redis does not answer" in body
        assert "Connection refused" in body
        assert agent_http.failing_checks(body) == [
            "redis-ping", "redis-loading", "cluster-joined", "replication", "shard-slots",
            "cluster-majority", "cluster-state"]
        status, body = agent_http.get(ip, "/readyz?exclude=redis-ping")
        assert status == 503 and "[+]redis-ping excluded: ok" in body
    finally:
        sts.stop_agent(2, signal.SIGTERM)


@pytest.mark.parametrize("rename", ['""', "CLUSTER-8f3a"], ids=["disabled", "renamed"])
def test_cluster_command_renamed_away_is_named_not_blamed_on_ping(sts_factory, rename):
    """With `rename-command CLUSTER ...` Redis answers PING but not CLUSTER: the probe and
    `status` must name the CLUSTER command and rename-command, not report a Redis that does
    not answer."""
    sts = sts_factory(pods=3, replicas=0, redis_conf=[f"rename-command CLUSTER {rename}"])
    sts.start_pod(0)
    ip = sts.pods[0].ip
    assert sts.redis(0).ping()

    def probe_names_cluster():
        status, body = agent_http.get(ip, "/readyz?verbose")
        # redis-ping passes after the readiness gate's rise time (1 s), like any check.
        return status == 503 and "not to CLUSTER" in body and "[+]redis-ping ok" in body, body
    body = wait_for("/readyz to pass redis-ping and name the CLUSTER command",
                    probe_names_cluster, timeout=20)
    assert "Redis does not answer" not in body
    assert "rename-command" in body and "unknown command 'CLUSTER'" in body
    assert agent_http.failing_checks(body) == [
        "redis-loading", "cluster-joined", "replication", "shard-slots", "cluster-majority",
        "cluster-state"]
    rc, out = sts.status()
    assert rc != 0
    assert any("not to CLUSTER" in p and "rename-command" in p for p in out["problems"]), out
    log = sts.agent_log_text(0)
    assert "The local Redis answers with an error" in log and "not to CLUSTER" in log, log
