"""Issue 7: hand the master role over before a pod stops.

The redis container's preStop runs the static client the agent installs in the shared runtime
dir; it asks the agent over the unix socket to fail over to the best replica and waits until
roles have switched. These tests delete pods the way the kubelet does (localsts.delete_pod) and
restart the whole StatefulSet like `kubectl rollout restart` under a write load.
"""
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

from writer import CounterWriter
from wait import wait_for

# The first full sync waits repl-diskless-sync-delay (5 s by default); tests do not need it.
FAST_SYNC = ("repl-diskless-sync-delay 0",)


def _ready_cluster(sts_factory, **kw):
    sts = sts_factory(pods=6, replicas=1, redis_conf=FAST_SYNC, **kw)
    sts.up()
    sts.wait_ready(timeout=90)
    return sts


def _client_as(run_dir, groups):
    """Runs the installed client as user 65534 with `groups` (a setpriv option), like a redis
    container running as another user. The run dir is bind-mounted at a path that user can
    reach (pytest's temporary directories are private to root)."""
    mountpoint = tempfile.mkdtemp(prefix="rca-handover-", dir="/tmp")
    try:
        os.chmod(mountpoint, 0o755)
        script = ('mount --bind "$0" "$1" && exec setpriv --reuid=65534 --regid=65534 "$2" '
                  '"$1/handover" --runtime-dir="$1"')
        return subprocess.run(["unshare", "--mount", "--", "/bin/sh", "-c", script, run_dir,
                               mountpoint, groups], capture_output=True, text=True, timeout=30)
    finally:
        os.rmdir(mountpoint)


def _masters(sts):
    return [i for i in range(sts.size) if sts.pods[i].running and sts.role(i) == "master"]


def test_rolling_restart_under_writes_loses_nothing(sts_factory, capsys):
    sts = _ready_cluster(sts_factory)
    writer = CounterWriter(sts).start()
    try:
        time.sleep(1)
        records = sts.rollout_restart(ready_timeout=90)
        time.sleep(1)
    finally:
        writer.stop()
    sts.wait_ready(timeout=30)
    for i in range(sts.size):
        assert "cluster_state:ok" in sts.command(i, "CLUSTER", "INFO")
    with capsys.disabled():
        print("\n".join(sts.roll_report("\nrolling restart of 6 pods with handover, node-timeout 5000:",
                                         records, writer)))
    assert writer.check_counters() == []
    attempted, acked = writer.totals()
    assert acked > 1000, writer.report()
    for rec in records:
        pre = rec["prestop"]
        assert pre.rc == 0, pre
        assert pre.outcome == ("done" if rec["role"] == "master" else "skipped"), pre
    # Without a handover a stopped master costs at least its restart plus the clients'
    # connection retries; with it, the old master redirects writes within milliseconds.
    assert writer.longest_gap < 2.0, writer.report()


def test_deleting_a_master_moves_mastership_before_redis_exits(sts_factory):
    sts = _ready_cluster(sts_factory)
    master = _masters(sts)[0]
    replica = sts.replica_of(master)
    seen = {}

    def before_sigterm(s, i, result):
        # The kubelet sends SIGTERM only after the preStop returns: Redis still runs here.
        seen["redis_alive"] = s.pods[i].redis.alive()
        seen["replica_role"] = s.role(replica)
        seen["old_master_role"] = s.role(i)
        seen["prestop"] = result

    agent = sts.pods[master].agent
    t0 = time.monotonic()
    sts.delete_pod(master, after_prestop=before_sigterm)
    elapsed = time.monotonic() - t0
    pre = seen["prestop"]
    assert pre.rc == 0 and pre.outcome == "done", pre
    assert seen == {"redis_alive": True, "replica_role": "master", "old_master_role": "slave",
                    "prestop": pre}
    assert pre.seconds < 2, pre
    # As a native sidecar the agent is stopped after Redis: it exits at once and cleanly.
    assert agent.popen.returncode == 0
    assert elapsed < 10
    assert not os.path.exists(os.path.join(sts.run_dir(master), "agent.sock"))
    log = sts.agent_log_text(master)
    assert "Handover finished" in log and "Waiting for a handover" not in log, log
    assert "cluster_state:ok" in sts.command(replica, "CLUSTER", "INFO")
    sts.start_pod(master, new_ip=True)
    sts.wait_ready(timeout=60)
    assert sts.role(master) == "slave"


def test_classic_sidecar_agent_finishes_the_handover_after_its_sigterm(sts_factory):
    sts = _ready_cluster(sts_factory)
    master, other = _masters(sts)[:2]
    # 1. SIGTERM reaches the agent before the preStop asks: it keeps the socket open.
    agent = sts.pods[master].agent
    pre = sts.delete_pod(master, sidecar="classic")
    assert pre.rc == 0 and pre.outcome == "done", pre
    assert agent.popen.returncode == 0
    assert "Waiting for a handover before stopping" in sts.agent_log_text(master)

    # 2. SIGTERM arrives while a handover is in progress (the replica is held up for 0.6 s
    # by a client pause, so the handover is still running when the agent is told to stop).
    replica = sts.replica_of(other)
    agent = sts.pods[other].agent
    sts.command(replica, "CLIENT", "PAUSE", "600", "ALL")
    # SIGTERM once the agent has the handover request (a fixed delay raced the preStop's start
    # under ASan: the signal came first and the test saw inProgress=false).
    stop = threading.Event()

    def sigterm_once_requested():
        deadline = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < deadline:
            if "Handover requested" in sts.agent_log_text(other):
                agent.send(signal.SIGTERM)
                return
            time.sleep(0.02)
    timer = threading.Thread(target=sigterm_once_requested)
    timer.start()
    try:
        pre = sts.delete_pod(other)
    finally:
        stop.set()
        timer.join()
    assert pre.rc == 0 and pre.outcome == "done", pre
    assert pre.seconds > 0.4, pre
    log = sts.agent_log_text(other)
    assert "Received a stop signal" in log and "inProgress=true" in log, log
    assert agent.popen.returncode == 0


def test_handover_returns_at_once_when_there_is_nothing_to_do(sts_factory):
    sts = _ready_cluster(sts_factory)
    master = _masters(sts)[0]
    replica = sts.replica_of(master)
    pre = sts.prestop(replica)
    assert pre.rc == 0 and pre.outcome == "skipped" and "is a replica" in pre.output, pre
    assert pre.seconds < 0.5

    sts.stop_pod(replica)
    pre = sts.prestop(master)
    assert pre.rc == 0 and pre.outcome == "skipped", pre
    assert "no healthy replica" in pre.output, pre
    assert sts.role(master) == "master"

    # Hook delivery is at least once: a second run after a handover skips.
    sts.start_pod(replica, new_ip=True)
    sts.wait_ready(timeout=60)
    assert sts.prestop(master).outcome == "done"
    again = sts.prestop(master)
    assert again.rc == 0 and again.outcome == "skipped", again


def test_trigger_is_local_only(sts_factory):
    sts = sts_factory(pods=3, replicas=0)
    sts.up()
    sts.wait_healthy(timeout=60)
    sock = os.path.join(sts.run_dir(0), "agent.sock")
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    client = os.path.join(sts.run_dir(0), "handover")
    assert os.access(client, os.X_OK)
    # The chart's contract: the runtime dir is an emptyDir with the pod's fsGroup (setgid), so
    # the socket gets that group; a redis container user holding it may connect, others not.
    fs_group = 4242
    sts.stop_agent(0)
    os.chown(sts.run_dir(0), 0, fs_group)
    os.chmod(sts.run_dir(0), 0o2775)
    sts.start_agent(0)
    wait_for("the control socket", lambda: os.path.exists(sock), 10, 0.05)
    assert os.stat(sock).st_gid == fs_group
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
    r = _client_as(sts.run_dir(0), f"--groups={fs_group}")
    assert r.returncode == 0 and "handover: skipped:" in r.stdout, r
    r = _client_as(sts.run_dir(0), "--clear-groups")
    assert r.returncode == 1 and "Permission denied" in r.stderr, r
    # The TCP listener offers no handover.
    for method in ("GET", "POST"):
        req = urllib.request.Request(f"http://{sts.pods[0].ip}:9839/handover", method=method,
                                     data=b"" if method == "POST" else None)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=2)
        assert err.value.code in (404, 405)
    # A malformed request gets a refusal, not a failover.
    out = subprocess.run(["/usr/bin/python3", "-c", f"""
import socket
s = socket.socket(socket.AF_UNIX); s.connect({sock!r}); s.sendall(b"takeover now\\n")
print(s.recv(200).decode())"""], capture_output=True, text=True)
    assert out.stdout.startswith("failed "), out


def test_static_client_runs_in_a_rootfs_without_glibc(sts_factory, tmp_path):
    """The official redis Alpine image has musl and busybox only: run the installed client in
    a chroot holding just busybox (static) and the musl loader, as a preStop would."""
    busybox = shutil.which("busybox")
    if busybox is None or "statically linked" not in subprocess.run(
            ["file", "-L", busybox], capture_output=True, text=True).stdout:
        pytest.skip("needs busybox-static")
    sts = sts_factory(pods=3, replicas=0)
    sts.up()
    sts.wait_healthy(timeout=60)
    client = os.path.join(sts.run_dir(0), "handover")
    if "statically linked" not in subprocess.run(["file", client], capture_output=True,
                                                 text=True).stdout:
        pytest.skip("sanitizer builds link the client dynamically")
    root = tmp_path / "alpine-like"
    (root / "bin").mkdir(parents=True)
    (root / "run" / "redis-cluster-agent").mkdir(parents=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    os.symlink("busybox", root / "bin" / "sh")
    if os.path.exists("/lib/ld-musl-x86_64.so.1"):
        (root / "lib").mkdir()
        shutil.copy("/lib/ld-musl-x86_64.so.1", root / "lib")
    script = ('mount --bind "$0" "$1/run/redis-cluster-agent" && '
              'exec chroot "$1" /bin/sh -c "/run/redis-cluster-agent/handover; echo rc=\\$?"')
    r = subprocess.run(["unshare", "--mount", "--", "/bin/sh", "-c", script, sts.run_dir(0),
                        str(root)], capture_output=True, text=True, timeout=30)
    assert "handover: skipped:" in r.stdout and "rc=0" in r.stdout, r
    assert not (root / "lib" / "libc.so.6").exists()
