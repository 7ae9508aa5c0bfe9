"""Issue 19: password rotation without restarts, on the local StatefulSet under the counter writer.

Every pod mounts the password like a Secret volume (tests/lib/localsts.py: the kubelet's
`..data` symlink swap). The test changes the Secret on every pod, a pod at a time as the kubelet
does, and the agents move the cluster to the new password in their three gated steps (accept
both, masterauth, drop the old). The writer keeps the old password until every node accepts the
new one, then switches, as an application told to would. Afterwards: no redis-server or agent
restarted, every replica's link stayed up and no replica resynced in full, the old password is
refused everywhere and the new one works, the include each Redis reads at start carries the new
password, the steps are counted, no log line carries a password, and no acknowledged write is
lost. A Redis restarted while the rotation is half done (the kubelet restarting its container)
gets back from its agent what it lost, and the rotation completes.
"""
import os
import threading
import time

import redis

import agent_http
from localsts import Process
from wait import wait_for
from writer import CounterWriter

OLD = "old-pass: with spaces and \"quotes\""
NEW = "new-pass-2"
GRACE_S = 3


def reports(sts):
    """pod -> (rotation phase, fingerprint of the password it rotates to) from /peerinfo."""
    out = {}
    for p in sts.pods:
        status, body = agent_http.get(p.ip, "/peerinfo")
        fields = dict(l.split(":", 1) for l in body.splitlines() if ":" in l) if status == 200 else {}
        out[p.name] = (fields.get("authPhase", f"no answer ({status})"), fields.get("authTarget"))
    return out


def phases(sts):
    """pod -> the rotation phase its agent reports on /peerinfo."""
    return {name: phase for name, (phase, _) in reports(sts).items()}


def all_in(sts, wanted, away_from=None):
    """Every pod's phase is in `wanted`; with `away_from` (the fingerprints before the Secret
    changed), every pod also reports a new target: "done" is where a pod starts too, so a pod
    whose agent has not read the new file yet must not count."""
    def check():
        now = reports(sts)
        moved = all(target != away_from.get(name) for name, (_, target) in now.items()) \
            if away_from is not None else True
        return moved and all(phase in wanted for phase, _ in now.values()), now
    return check


def targets(sts):
    return {name: target for name, (_, target) in reports(sts).items()}


def refused(e):
    # redis-py 4.3.4 raises AuthenticationError for "invalid password" but a plain
    # ResponseError for Redis 7's WRONGPASS.
    return isinstance(e, redis.exceptions.AuthenticationError) or "WRONGPASS" in str(e)


def accepts(sts, i, password):
    client = redis.Redis(host=sts.pods[i].ip, port=6379, password=password, socket_timeout=2)
    try:
        return client.ping()
    except redis.exceptions.ResponseError as e:
        if refused(e):
            return False
        raise
    finally:
        client.close()


class LinkWatch(threading.Thread):
    """Samples every replica's link to its master (with whichever password works) until
    stopped; records each sample where a link was not up."""

    def __init__(self, sts):
        super().__init__(daemon=True)
        self.sts, self.stop_event = sts, threading.Event()
        self.samples, self.down = 0, []

    def info(self, i):
        for password in (NEW, OLD):
            client = redis.Redis(host=self.sts.pods[i].ip, port=6379, password=password,
                                 socket_timeout=2)
            try:
                return client.info("replication")
            except redis.exceptions.ResponseError as e:
                if not refused(e):
                    raise
            finally:
                client.close()
        raise AssertionError(f"{self.sts.pods[i].name} accepts neither password")

    def all_up(self):
        infos = [self.info(p.ordinal) for p in self.sts.pods]
        replicas = [i for i in infos if i["role"] == "slave"]
        return len(replicas) == 3 and all(i.get("master_link_status") == "up" and
                                          i.get("master_sync_in_progress") == 0 for i in replicas)

    def run(self):
        while not self.stop_event.is_set():
            for p in self.sts.pods:
                info = self.info(p.ordinal)
                if info["role"] == "slave" and info.get("master_link_status") != "up":
                    self.down.append((p.name, info.get("master_link_status")))
            self.samples += 1
            self.stop_event.wait(0.1)

    def stop(self):
        self.stop_event.set()
        self.join(30)


def full_syncs(sts):
    return sum(sts.redis(p.ordinal).info("stats")["sync_full"] for p in sts.pods)


def actions(sts, i):
    m = agent_http.metrics(sts.pods[i].ip)
    return {kind: m.get(f'redis_cluster_agent_actions_total{{action="{kind}"}}', -1)
            for kind in ("password_add", "masterauth_switch", "password_drop")}


def test_rotation_under_load_without_restarts(sts_factory, capsys):
    sts = sts_factory(password=OLD, agent_args=[f"--rotation-grace={GRACE_S}s"])
    sts.up()
    sts.wait_healthy(timeout=90)
    pids = {p.name: (p.redis.pid, p.agent.pid) for p in sts.pods}
    links = LinkWatch(sts)
    wait_for("every replica's first sync", lambda: (links.all_up(), None), 60)
    syncs_before = full_syncs(sts)
    wait_for("every agent to report done for the first password", all_in(sts, {"done"}), 30)

    before = targets(sts)
    writer = CounterWriter(sts).start()
    links.start()
    try:
        time.sleep(1)
        t0 = time.monotonic()
        for p in sts.pods:  # the kubelet refreshes each pod's volume on its own sync
            sts.mount_secret(p.ordinal, NEW)
            time.sleep(0.2)
        # Until every node accepts the new password, clients keep the old one.
        wait_for("every node to accept the new password",
                 all_in(sts, {"accepting", "switched", "done"}, away_from=before), 60)
        t_accept = time.monotonic() - t0
        assert all(accepts(sts, p.ordinal, NEW) and accepts(sts, p.ordinal, OLD)
                   for p in sts.pods)
        writer.use_password(NEW)
        wait_for("every agent to finish the rotation", all_in(sts, {"done"}, away_from=before),
                 60 + GRACE_S)
        t_done = time.monotonic() - t0
        time.sleep(1)
    finally:
        links.stop()
        writer.stop()

    for p in sts.pods:
        assert p.redis.alive() and p.agent.alive(), f"{p.name} restarted"
        assert (p.redis.pid, p.agent.pid) == pids[p.name]
    assert links.down == [], links.down[:10]
    assert links.samples > 10
    assert full_syncs(sts) == syncs_before
    for p in sts.pods:
        assert not accepts(sts, p.ordinal, OLD), f"{p.name} still accepts the old password"
        assert accepts(sts, p.ordinal, NEW)
        assert sts.redis(p.ordinal).config_get("masterauth")["masterauth"] == NEW
        with open(os.path.join(sts.run_dir(p.ordinal), "redis-agent.conf")) as f:
            include = f.read()
        assert 'requirepass "new-pass-2"' in include and 'masterauth "new-pass-2"' in include
        assert "old-pass" not in include
        assert actions(sts, p.ordinal) == {"password_add": 1, "masterauth_switch": 1,
                                           "password_drop": 1}
        log = sts.agent_log_text(p.ordinal)
        assert "Password rotation complete on this node" in log
        assert "old-pass" not in log and NEW not in log
    assert writer.check_counters() == [], writer.report()
    attempted, acked = writer.totals()
    assert acked > 500, writer.report()
    sts._write_secret()  # the password file `status` reads: the new one, like the pods'
    rc, report = sts.status()
    assert rc == 0, report
    assert [p["authPhase"] for p in report["pods"]] == ["done"] * 6, report
    rc, out = sts.cluster_check()
    assert rc == 0 and "[OK] All 16384 slots covered." in out and "[ERR]" not in out, out

    with capsys.disabled():
        print(f"\nrotation on 6 pods: every node accepts the new password after {t_accept:.1f}s, "
              f"rotation done after {t_done:.1f}s (grace {GRACE_S}s); {links.samples} link "
              f"samples, none down; writer {acked} acknowledged of {attempted} attempted")
        for line in writer.report():
            print("  " + line)


def test_a_pod_without_the_new_file_holds_the_rotation_and_a_restarted_agent_resumes(
        sts_factory):
    """Until the last pod's kubelet refreshes the file, no node switches masterauth and the old
    password keeps working everywhere; an agent restarted meanwhile finds its place from what
    its Redis reports, and the rotation then completes."""
    sts = sts_factory(password=OLD, agent_args=[f"--rotation-grace={GRACE_S}s"])
    sts.up()
    sts.wait_healthy(timeout=90)
    wait_for("every agent to report done for the first password", all_in(sts, {"done"}), 30)
    before = targets(sts)
    for p in sts.pods[:5]:
        sts.mount_secret(p.ordinal, NEW)
    wait_for("five nodes to accept the new password", lambda: (
        sorted(phases(sts).values()) == ["accepting"] * 5 + ["done"], phases(sts)), 30)
    sts.stop_agent(2)
    sts.start_agent(2)
    time.sleep(3)  # several passes of every agent: nothing may move on
    now = phases(sts)
    assert sorted(now.values()) == ["accepting"] * 5 + ["done"], now
    for p in sts.pods:
        assert accepts(sts, p.ordinal, OLD)
        assert sts.redis(p.ordinal).config_get("masterauth")["masterauth"] == OLD
    log = sts.agent_log_text(0)
    assert "redis-5: has another password" in log, log[-2000:]
    sts.password = NEW  # `status` as a user runs it in pod 0, with the new file
    sts._write_secret()
    rc, out = sts.status(json_output=False)
    assert "Password rotation under way: redis-0 accepting; redis-1 accepting; redis-2 " \
        "accepting; redis-3 accepting; redis-4 accepting; redis-5 unknown\n" in out, out

    sts.mount_secret(5, NEW)
    wait_for("every agent to finish the rotation", all_in(sts, {"done"}, away_from=before),
             60 + GRACE_S)
    for p in sts.pods:
        assert not accepts(sts, p.ordinal, OLD) and accepts(sts, p.ordinal, NEW)
        assert p.redis.alive()


def restart_redis(sts, i):
    """The kubelet restarting pod i's redis container: redis-server stops and starts again with
    the same redis.conf and the same runtime dir (the include), without prepare (init
    containers do not run again) and without touching the agent."""
    p = sts.pods[i]
    p.redis.stop()
    p.redis = Process.spawn(["redis-server", os.path.join(sts.pod_dir(i), "redis.conf")],
                            sts.redis_log(i) + ".out")
    sts.save()


def restored(sts, i):
    m = agent_http.metrics(sts.pods[i].ip)
    return m.get('redis_cluster_agent_actions_total{action="password_restore"}', -1)


def master_link(sts, i):
    client = redis.Redis(host=sts.pods[i].ip, port=6379, password=NEW, socket_timeout=2)
    try:
        return client.info("replication").get("master_link_status")
    except redis.exceptions.ConnectionError as e:  # still starting (BusyLoadingError too)
        return str(e)
    finally:
        client.close()


def accepts_both(sts, i):
    try:
        return accepts(sts, i, OLD) and accepts(sts, i, NEW), None
    except redis.exceptions.ConnectionError as e:  # still starting
        return False, str(e)


def test_a_redis_restarted_mid_rotation_gets_its_passwords_back(sts_factory):
    """Half done: five pods accept both passwords, one has not got the new file. A replica's
    redis-server restarts and reads the include its agent kept (the new password only); the
    agent gives it the old one back from nodes.auth, its link to the master comes back with
    the old masterauth (no master dropped the old password yet), the other agents do not move
    on, and once the last file arrives the rotation completes everywhere. The writer keeps the
    old password until every node accepts the new one, and loses no acknowledged write."""
    sts = sts_factory(password=OLD, agent_args=[f"--rotation-grace={GRACE_S}s"])
    sts.up()
    sts.wait_healthy(timeout=90)
    wait_for("every agent to report done for the first password", all_in(sts, {"done"}), 30)
    before = targets(sts)
    writer = CounterWriter(sts).start()
    try:
        for p in sts.pods[:5]:
            sts.mount_secret(p.ordinal, NEW)
        wait_for("five nodes to accept the new password", lambda: (
            sorted(phases(sts).values()) == ["accepting"] * 5 + ["done"], phases(sts)), 30)
        i = next(p.ordinal for p in sts.pods[:5] if sts.role(p.ordinal) == "slave")
        agent_pid = sts.pods[i].agent.pid
        assert restored(sts, i) == 0
        restart_redis(sts, i)
        wait_for(f"redis-{i} to accept both passwords again", lambda: accepts_both(sts, i), 30)
        # The agent counts the restore after its commands return: wait for the counter too.
        wait_for(f"redis-{i}'s agent to count the restore", lambda: restored(sts, i) >= 1, 10)
        assert restored(sts, i) == 1
        wait_for(f"redis-{i}'s link to its master", lambda: (master_link(sts, i) == "up",
                                                               master_link(sts, i)), 30)
        assert sts.redis(i).config_get("masterauth")["masterauth"] == OLD
        now = phases(sts)
        assert sorted(now.values()) == ["accepting"] * 5 + ["done"], now
        assert "The restarted Redis accepts the rotation's passwords again" in \
            sts.agent_log_text(i)

        sts.mount_secret(5, NEW)
        wait_for("every node to accept the new password",
                 all_in(sts, {"accepting", "switched", "done"}, away_from=before), 60)
        writer.use_password(NEW)
        wait_for("every agent to finish the rotation", all_in(sts, {"done"}, away_from=before),
                 60 + GRACE_S)
    finally:
        writer.stop()
    assert sts.pods[i].agent.pid == agent_pid and sts.pods[i].agent.alive()
    for p in sts.pods:
        assert p.redis.alive()
        assert not accepts(sts, p.ordinal, OLD) and accepts(sts, p.ordinal, NEW)
    with open(os.path.join(sts.run_dir(i), "redis-agent.conf")) as f:
        include = f.read()
    assert 'requirepass "new-pass-2"' in include and 'masterauth "new-pass-2"' in include
    assert master_link(sts, i) == "up"
    assert writer.check_counters() == [], writer.report()
    assert writer.totals()[1] > 100, writer.report()
