"""`prepare` against real files and a real Redis 7.0.15.

Bad input leaves every file byte-identical and explains itself; every rewritten 7.0-format
fixture is loaded by the real redis-server with the new addresses.
"""
import glob
import os
import shutil
import subprocess

import pytest
import redis

import nets
from localsts import agent_binary, raw_command
from wait import wait_for, wait_listening

# This module's two networks (tests/lib/nets.py): one pod alone, and a pod with its peers.
SOLO = f"127.{nets.last()}.0"
PEERS = f"127.{nets.base()}.0"
DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                    "nodes_conf")


def run_prepare(d, pod_ip=f"{SOLO}.1", hosts=None, extra=()):
    argv = [agent_binary(), "prepare", f"--pod-ip={pod_ip}", f"--nodes-conf={d}/nodes.conf",
            f"--redis-addr={pod_ip}:6379", "--pod-name=redis-0",
            "--peer-host-template=redis-{ordinal}.test", *extra]
    if hosts is not None:
        argv = ["unshare", "--mount", "--", "/bin/sh", "-c",
                'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + argv
    return subprocess.run(argv, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})


def snapshot_dir(d):
    """Every file under d with its bytes, to prove nothing changed."""
    out = {}
    for root, _, names in os.walk(d):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, d)] = f.read()
    return out


BAD = sorted(glob.glob(os.path.join(DATA, "bad", "*.conf")))


@pytest.mark.parametrize("path", BAD, ids=[os.path.basename(p) for p in BAD])
def test_bad_nodes_conf_changes_nothing(tmp_path, path):
    shutil.copy(path, tmp_path / "nodes.conf")
    if os.path.getsize(path) == 0:
        # A 0-byte nodes.conf is refused only beside data (without, it is a fresh node: below).
        (tmp_path / "dump.rdb").write_bytes(b"REDIS0010-data")
    before = snapshot_dir(tmp_path)
    r = run_prepare(str(tmp_path))
    assert r.returncode == 1, r.stdout
    assert snapshot_dir(tmp_path) == before
    assert "nothing was changed" in r.stdout
    line = [l for l in r.stdout.splitlines() if "prepare refused" in l]
    assert len(line) == 1
    if os.path.getsize(path) > 0 and open(path, "rb").read().strip():
        assert "line " in line[0]


def test_data_without_nodes_conf_is_refused(tmp_path):
    (tmp_path / "appendonlydir").mkdir()
    (tmp_path / "appendonlydir" / "appendonly.aof.1.base.rdb").write_bytes(b"REDIS0010")
    (tmp_path / "dump.rdb").write_bytes(b"REDIS0010-data")
    before = snapshot_dir(tmp_path)
    r = run_prepare(str(tmp_path))
    assert r.returncode == 1
    assert "holds data" in r.stdout and "new ID" in r.stdout
    assert snapshot_dir(tmp_path) == before
    assert not (tmp_path / "nodes.conf").exists()


def test_empty_nodes_conf_without_data_is_a_fresh_node(tmp_path):
    # What Redis leaves after "can't update cluster config file" on a full disk: the pod must
    # start as the fresh node it is, not block forever.
    (tmp_path / "nodes.conf").write_bytes(b"")
    r = run_prepare(str(tmp_path))
    assert r.returncode == 0, r.stdout
    assert "a fresh node" in r.stdout and "empty (0 bytes)" in r.stdout


def test_fresh_node_is_left_alone(tmp_path):
    r = run_prepare(str(tmp_path))
    assert r.returncode == 0, r.stdout
    assert "a fresh node" in r.stdout
    assert os.listdir(tmp_path) == []


def test_refuses_while_redis_runs(tmp_path):
    shutil.copy(os.path.join(DATA, "redis-7.0-fresh.conf"), tmp_path / "nodes.conf")
    conf = tmp_path / "redis.conf"
    conf.write_text(f"bind {SOLO}.1\nport 6379\ncluster-enabled yes\n"
                    f"cluster-config-file {tmp_path}/nodes.conf\ndir {tmp_path}\nsave \"\"\n")
    p = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL)
    try:
        wait_listening(f"{SOLO}.1", 6379)
        before = (tmp_path / "nodes.conf").read_bytes()
        r = run_prepare(str(tmp_path))
        assert r.returncode == 1
        assert "must run before redis-server starts" in r.stdout
        assert (tmp_path / "nodes.conf").read_bytes() == before
    finally:
        p.terminate()
        p.wait(10)


SEVEN_O = sorted(p for p in glob.glob(os.path.join(DATA, "redis-7.0-*.conf")))


@pytest.mark.parametrize("path", SEVEN_O, ids=[os.path.basename(p) for p in SEVEN_O])
def test_redis_loads_every_rewritten_70_file(tmp_path, path):
    """prepare rewrites myself and every peer it can resolve; Redis 7.0.15 loads the result and
    reports the new addresses."""
    shutil.copy(path, tmp_path / "nodes.conf")
    # The node has data (an AOF dir Redis ignores with appendonly no), so prepare's guard for
    # masters without data stays out of the way.
    (tmp_path / "appendonlydir").mkdir()
    text = open(path).read()
    ids = [l.split()[0] for l in text.splitlines() if l.strip() and not l.startswith("vars")]
    myself = next(l.split()[0] for l in text.splitlines() if "myself" in l)
    peers = [i for i in ids if i != myself]
    # The map says which pod runs each peer; /etc/hosts says where those pods are now.
    (tmp_path / "nodes.ordinals").write_text(
        "".join(f"{pid} {n + 1}\n" for n, pid in enumerate(peers)) + f"{myself} 0\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("".join(f"{PEERS}.{n + 1} redis-{n + 1}.test\n" for n in range(len(peers))))
    r = run_prepare(str(tmp_path), pod_ip=f"{PEERS}.100", hosts=str(hosts))
    assert r.returncode == 0, r.stdout
    assert (tmp_path / "nodes.conf.bak").read_text() == text
    conf = tmp_path / "redis.conf"
    conf.write_text(f"bind {PEERS}.100\nport 6379\ncluster-enabled yes\n"
                    f"cluster-config-file {tmp_path}/nodes.conf\ndir {tmp_path}\nsave \"\"\n"
                    f"logfile {tmp_path}/redis.log\ncluster-node-timeout 60000\n")
    p = subprocess.Popen(["redis-server", str(conf)])
    try:
        client = redis.Redis(host=f"{PEERS}.100")
        def answers():
            assert p.poll() is None, open(tmp_path / "redis.log").read()
            try:
                return client.ping()
            except redis.ConnectionError:
                return False
        wait_for("redis-server answering", answers, 5, interval=0.05)
        nodes = raw_command(client, "CLUSTER", "NODES")
        seen = {l.split()[0]: l.split()[1].split(",")[0].rsplit(":", 1)[0]
                for l in nodes.splitlines()}
        assert seen[myself] == f"{PEERS}.100"
        for n, pid in enumerate(peers):
            if "noaddr" in next(l for l in text.splitlines() if l.startswith(pid)):
                continue  # Redis itself blanks noaddr nodes' addresses
            assert seen[pid] == f"{PEERS}.{n + 1}", nodes
    finally:
        p.terminate()
        p.wait(10)


def test_json_logs_are_one_valid_object_per_line(tmp_path):
    import json
    shutil.copy(os.path.join(DATA, "bad", "unknown-flag.conf"), tmp_path / "nodes.conf")
    r = run_prepare(str(tmp_path), extra=("--log-format=json",))
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines
    for line in lines:
        event = json.loads(line)
        assert {"ts", "level", "logger", "msg"} <= set(event)
    assert any(json.loads(l).get("err", "").startswith(str(tmp_path)) for l in lines)
