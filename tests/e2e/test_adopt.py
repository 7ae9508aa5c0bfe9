"""Issue 18: a cluster built with the tutorial's recipe, adopted by the agent pod by pod
(README, "Coming from the tutorial") while the counter writer and the hit counter run.

The cluster is the tutorial's: redis-server without the agent, nodes.conf patched by the
tutorial's update-node.sh before each start, `redis-cli --cluster create`, the tutorial's
redis.conf (node timeout 15 s). One shard has its roles swapped first, as after the tutorial's
own failure demo, so the adoption meets a master whose replica is still a tutorial pod as well
as masters whose replica is already adopted. Then, from the highest ordinal down, the README's
step per pod: examples/tutorial/handover-old-pod.sh, delete without a preStop, start on a new
address with prepare + run; until a pod is adopted its peer name does not resolve (tests/lib/
tutorial.py). Afterwards: every pod runs the agent, `redis-cli --cluster check` is clean,
`status` is healthy, all pods restarted at once on new addresses heal, and every key, every
acknowledged write and every counter value is still there.

Only Redis 7.0.15 is on this machine: the tutorial's pods run it too, so the Redis 5.0 -> 7.x
step of the README is not exercised here (README, "What is tested").
"""
import threading
import time
import urllib.error
import urllib.request


import nets
from tutorial import TutorialStatefulSet, start_hit_counter
from wait import wait_for
from writer import CounterWriter

KEYS = 20000
AWAY = 1.0  # seconds between a pod's deletion and its new start (scheduling, volume)
NET = f"127.{nets.last()}"  # clear of the networks conftest hands out first


def http_status(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def roles(sts):
    """node ID -> role, as each node states it about itself."""
    out = {}
    for p in sts.pods:
        for line in sts.command(p.ordinal, "CLUSTER", "NODES").splitlines():
            f = line.split()
            if "myself" in f[2]:
                out[f[0]] = "master" if "master" in f[2] else "slave"
    return out


def swap_one_shard(sts):
    """The outcome of the tutorial's failure demo: pod 0's replica is the master now."""
    my_id = sts.command(0, "CLUSTER", "MYID")
    replica = next(p.ordinal for p in sts.pods if p.ordinal != 0 and
                   any("myself" in l.split()[2] and l.split()[3] == my_id
                       for l in sts.command(p.ordinal, "CLUSTER", "NODES").splitlines()))
    assert sts.command(replica, "CLUSTER", "FAILOVER") == "OK"
    wait_for("pod 0 to follow its replica", lambda: (sts.role(0) == "slave", sts.role(0)), 20)
    return replica


def load_keys(sts):
    client = sts.cluster_client(socket_timeout=5)
    try:
        pipe = client.pipeline()
        for n in range(KEYS):
            pipe.set(f"tutorial:{n}", f"value-{n}")
            if n % 2000 == 1999:
                pipe.execute()
        pipe.execute()
    finally:
        client.close()


def missing_keys(sts):
    client = sts.cluster_client(socket_timeout=5)
    try:
        pipe = client.pipeline()
        for n in range(KEYS):
            pipe.get(f"tutorial:{n}")
        values = pipe.execute()
    finally:
        client.close()
    return [n for n, v in enumerate(values) if v != f"value-{n}".encode()]


class Hitter(threading.Thread):
    """A visitor reloading the hit counter's page: records every answer."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.stop_event = url, threading.Event()
        self.values, self.failures = [], 0

    def run(self):
        while not self.stop_event.is_set():
            status, body = http_status(self.url + "/", timeout=5)
            if status == 200:
                self.values.append(int(body))
            else:
                self.failures += 1
            self.stop_event.wait(0.01)

    def stop(self):
        self.stop_event.set()
        self.join(30)


def pod_adopted(sts, i):
    """The adopted pod is ready (its /readyz, as the kubelet asks) and redis-cli --cluster
    check is clean again."""
    def check():
        status, body = http_status(f"http://{sts.pods[i].ip}:9839/readyz?verbose")
        if status != 200:
            return False, body
        return sts.cluster_check_clean()
    return check


def test_adopt_tutorial_cluster_under_load(sts_factory, tmp_path, capsys):
    t_start = time.monotonic()
    sts = TutorialStatefulSet(str(tmp_path / "sts"), pods=6, replicas=1, net=NET)
    sts_factory.created.append(sts)  # stopped by pid and its logs shown, like the others
    sts.create_tutorial_cluster()
    assert all(sts.pods[i].agent is None for i in range(6))
    swapped = swap_one_shard(sts)
    load_keys(sts)
    assert missing_keys(sts) == []
    # Until adopted, no pod resolves under the agents' peer names; all resolve as the Service.
    assert not any(sts.resolvable(i) for i in range(6))
    with open(sts.hosts_path()) as f:
        assert sum("redis-cluster" in line.split() for line in f) == 6

    writer = CounterWriter(sts).start()
    counter, url = start_hit_counter(sts, str(tmp_path / "hit-counter.log"))
    hitter = Hitter(url)
    hitter.start()
    env = sts.kubectl_standin(str(tmp_path / "bin"))
    steps = []
    try:
        time.sleep(1)
        # README step 3: the chart's Service replaces the tutorial's. It targets Redis' port
        # by number, so it still reaches every tutorial pod (by the labels of step 1): no
        # window without endpoints for clients that connect now.
        sts.chart_installed = True
        sts.write_hosts()
        with open(sts.hosts_path()) as f:
            assert sum("redis-cluster" in line.split() for line in f) == 6
        t_adopt = time.monotonic()
        for i in reversed(range(6)):
            t0 = time.monotonic()
            role = sts.role(i)
            out = sts.adopt_pod(i, env, away=AWAY)
            assert ("is a replica of" in out) == (role == "master"), out
            wait_for(f"{sts.pods[i].name} adopted", pod_adopted(sts, i), 120)
            assert sts.resolvable(i) and sts.resolvable(i, sts.hosts_path(i))
            assert not any(sts.resolvable(j, sts.hosts_path(i)) for j in range(i))
            with open(sts.hosts_path()) as f:  # the Service: old and new pods alike
                assert sum("redis-cluster" in line.split() for line in f) == 6
            steps.append((i, role, time.monotonic() - t0))
        adopt_s = time.monotonic() - t_adopt
        time.sleep(1)
    finally:
        hitter.stop()
        writer.stop()
        counter.stop()

    assert all(p.agent.alive() and p.redis.alive() for p in sts.pods)
    clean, out = sts.cluster_check_clean()
    assert clean, out
    sts.wait_ready(timeout=60)
    assert writer.check_counters() == [], writer.report()
    attempted, acked = writer.totals()
    assert acked > 1000, writer.report()
    # The handovers move masters in well under a second. A master stopped without one costs
    # its shard every write until its new pod serves (here over 4 s: `away`, the start, the
    # clients' retries) or, past the node timeout, until its replica is elected.
    assert writer.longest_gap < 2.0, writer.report()
    values = hitter.values
    assert len(values) > 100, (values[-5:], hitter.failures)
    assert all(a < b for a, b in zip(values, values[1:])), "the hit counter went backwards"

    # A full restart on new addresses, every pod at once: the agents' node-ID map heals it.
    before = roles(sts)
    old_ips = {p.ip for p in sts.pods}
    for i in range(6):
        sts.stop_pod(i)
    t0 = time.monotonic()
    sts.start_pods(range(6), new_ip=True)
    sts.wait_healthy(timeout=60)
    heal_s = time.monotonic() - t0
    assert not old_ips & {p.ip for p in sts.pods}
    assert roles(sts) == before
    wait_for("a clean redis-cli --cluster check", sts.cluster_check_clean, 30)

    assert missing_keys(sts) == []
    assert writer.check_counters() == [], writer.report()
    client = sts.cluster_client(socket_timeout=5)
    try:
        hits = int(client.get("hits"))
    finally:
        client.close()
    assert values[-1] <= hits <= values[-1] + hitter.failures

    with capsys.disabled():
        print(f"\ntutorial cluster adopted (node timeout {sts.node_timeout} ms, pod 0's shard "
              f"swapped to redis-{swapped}):")
        for i, role, seconds in steps:
            print(f"  redis-{i} ({role}): adopted and ready in {seconds:.1f}s")
        for i, out in sts.handovers:
            print(f"  redis-{i}: {out.strip().splitlines()[-1]}")
        print(f"  adoption of 6 pods: {adopt_s:.1f}s; full restart on new IPs healthy after "
              f"{heal_s:.1f}s; test {time.monotonic() - t_start:.0f}s")
        print(f"  hit counter: {len(values)} hits counted, {hitter.failures} failed, final {hits}")
        for line in writer.report():
            print("  " + line)


def test_handover_script_keeps_a_master_without_a_healthy_replica(sts_factory, tmp_path):
    """handover-old-pod.sh refuses, changing nothing, when no replica can take over: the
    README's loop stops there instead of deleting the shard's only copy."""
    sts = TutorialStatefulSet(str(tmp_path / "sts"), pods=6, replicas=1, net=NET)
    sts_factory.created.append(sts)
    sts.create_tutorial_cluster()
    env = sts.kubectl_standin(str(tmp_path / "bin"))
    master = next(i for i in range(6) if sts.role(i) == "master")
    replica = next(i for i in range(6) if sts.role(i) == "slave" and
                   sts.command(i, "ROLE")[1].decode() == sts.pods[master].ip)
    sts.stop_pod(replica)
    rc, out = sts.handover_old_pod(master, env)
    assert rc == 1 and "no healthy replica" in out, out
    assert sts.role(master) == "master"
    rc, out = sts.handover_old_pod(next(i for i in range(6) if sts.role(i) == "slave"), env)
    assert rc == 0 and "nothing to hand over" in out, out
