"""`prepare` on Valkey 8 files, loaded by the real valkey-server 8.0.1.

Every Valkey fixture (tests/data/nodes_conf/valkey-*.conf: recorded live by
generate_valkey80.py, plus the hand-written 7.2/8.0 ones) is rewritten by the agent's prepare
with new addresses for every node; valkey-server then starts on the result and CLUSTER NODES
shows the new addresses, and the file Valkey saves back still carries the aux fields prepare
kept. The last tests show why prepare keeps everything else byte for byte: Valkey refuses to
start on a replica whose shard-id is not its primary's and on an aux field it does not know.
Addresses: 127.<the last network of the module's range, tests/lib/nets.py>.0.x and ::1.
"""
import glob
import os
import re
import shutil
import subprocess
import time

import pytest
import redis

import nets
from localsts import agent_binary, raw_command

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                    "nodes_conf")
NET = f"127.{nets.last()}.0"
V6_PORT = 20000 + (nets.last() * 10) % 1000 + 9  # clear of the recorded cluster's ports
FIXTURES = sorted(glob.glob(os.path.join(DATA, "valkey-*.conf")))
SHARD = re.compile(r"shard-id=([0-9a-f]{40})")


@pytest.fixture(scope="module", autouse=True)
def _valkey():
    if shutil.which("valkey-server") is None:
        pytest.fail("valkey-server is not installed (scripts/install-deps.sh)")


def node_lines(text):
    return [l for l in text.splitlines() if l.strip() and not l.startswith("vars ")]


def run_prepare(d, pod_ip, hosts):
    """The agent's prepare with its own /etc/hosts (a mount namespace), as in a pod."""
    redis_addr = f"[{pod_ip}]:{V6_PORT}" if ":" in pod_ip else f"{pod_ip}:6379"
    argv = [agent_binary(), "prepare", f"--pod-ip={pod_ip}", f"--nodes-conf={d}/nodes.conf",
            f"--redis-addr={redis_addr}", "--pod-name=redis-0", "--dns-wait=0",
            "--peer-host-template=redis-{ordinal}.test"]
    argv = ["unshare", "--mount", "--", "/bin/sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + argv
    return subprocess.run(argv, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})


class Valkey:
    """valkey-server on a given nodes.conf; stopped by pid when the test ends."""

    def __init__(self, d, ip, port):
        self.d, self.ip, self.port = d, ip, port
        conf = os.path.join(d, "valkey.conf")
        with open(conf, "w") as f:
            f.write(f"bind {ip}\nport {port}\ncluster-enabled yes\n"
                    f"cluster-config-file {d}/nodes.conf\ndir {d}\nsave \"\"\n"
                    f"appendonly no\nlogfile {d}/valkey.log\ncluster-node-timeout 60000\n")
        self.proc = subprocess.Popen(["valkey-server", conf])

    def started(self):
        """True once it answers; False if it exited (the reason is in log())."""
        client = redis.Redis(host=self.ip, port=self.port, socket_timeout=5)
        for _ in range(200):
            if self.proc.poll() is not None:
                return False
            try:
                client.ping()
                return True
            except redis.ConnectionError:
                time.sleep(0.05)
        raise TimeoutError(f"valkey-server on {self.ip}:{self.port} neither answers nor exits")

    def command(self, *args):
        return raw_command(redis.Redis(host=self.ip, port=self.port, socket_timeout=5), *args)

    def log(self):
        with open(os.path.join(self.d, "valkey.log")) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def servers():
    started = []
    yield lambda *a: started.append(Valkey(*a)) or started[-1]
    for s in started:
        s.stop()


def rewrite(tmp_path, path, text=None):
    """Copies a fixture (or `text`) in, maps its peers to ordinals 1.. in file order and their
    pods to new IPs, runs prepare. Returns (old text, myself id, {peer id: new ip}, my ip)."""
    text = text if text is not None else open(path).read()
    (tmp_path / "nodes.conf").write_text(text)
    (tmp_path / "appendonlydir").mkdir()  # holds data: prepare's empty-master guard stays away
    ids = [l.split()[0] for l in node_lines(text)]
    myself = next(l.split()[0] for l in node_lines(text) if "myself" in l.split()[2])
    peers = [i for i in ids if i != myself]
    v6 = " ::1:" in text
    my_ip = "::1" if v6 else f"{NET}.100"
    new = {pid: (f"fd00:dc::{n + 1}" if v6 else f"{NET}.{n + 1}") for n, pid in enumerate(peers)}
    (tmp_path / "nodes.ordinals").write_text(
        "".join(f"{pid} {n + 1}\n" for n, pid in enumerate(peers)) + f"{myself} 0\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("".join(f"{ip} redis-{n + 1}.test\n" for n, ip in enumerate(new.values())))
    r = run_prepare(str(tmp_path), my_ip, str(hosts))
    assert r.returncode == 0, r.stdout + r.stderr
    return text, myself, new, my_ip, r.stdout


def address_parts(line):
    """(host, everything after the host) of a node line's address field."""
    addr = line.split()[1]
    host = addr.split(",", 1)[0].split("@", 1)[0].rsplit(":", 1)[0]  # IPv6: no brackets
    return host, addr[len(host):]


@pytest.mark.parametrize("path", FIXTURES, ids=[os.path.basename(p) for p in FIXTURES])
def test_valkey_loads_every_rewritten_file(tmp_path, path, servers):
    text, myself, new, my_ip, _ = rewrite(tmp_path, path)
    written = (tmp_path / "nodes.conf").read_text()
    # prepare changed the hosts and not one other byte.
    before, after = node_lines(text), node_lines(written)
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert b.split()[0] == a.split()[0] and b.split()[2:] == a.split()[2:]
        assert address_parts(b)[1] == address_parts(a)[1]
        want = my_ip if a.split()[0] == myself else new[a.split()[0]]
        assert address_parts(a)[0] == want
    assert [l for l in text.splitlines() if l.startswith("vars ")] == \
        [l for l in written.splitlines() if l.startswith("vars ")]

    server = servers(str(tmp_path), my_ip, V6_PORT if ":" in my_ip else 6379)
    assert server.started(), server.log()[-2000:]
    seen = {l.split()[0]: address_parts(l)[0]
            for l in server.command("CLUSTER", "NODES").splitlines()}
    assert seen[myself] == my_ip
    server.command("CLUSTER", "SAVECONFIG")
    saved = {l.split()[0]: l for l in node_lines((tmp_path / "nodes.conf").read_text())}
    for line in after:
        nid = line.split()[0]
        if nid == myself:
            # Its hostname, nodename and client addresses come from valkey.conf, not the file.
            assert SHARD.findall(saved[nid]) == SHARD.findall(line)
            continue
        if "noaddr" in line.split()[2]:
            continue  # Valkey blanks a noaddr node's address itself
        # The file Valkey saves back has the new address and the aux fields prepare kept.
        assert address_parts(saved[nid]) == (new[nid], address_parts(line)[1]), saved[nid]
        # CLUSTER NODES shows a peer's announced client address, if it has one, to a client
        # that connects over the same family (IPv4 here), else its cluster address.
        client = re.search(r",client-ipv4=([0-9.]+)", line)
        want = client.group(1) if client and ":" not in my_ip else new[nid]
        assert seen[nid] == want, (line, seen[nid])


def replica_file():
    text = open(os.path.join(DATA, "valkey-8.0-created-replica.conf")).read()
    me = next(l for l in node_lines(text) if "myself" in l.split()[2])
    return text, me


def test_prepare_gives_a_replica_its_primarys_shard_id_so_valkey_starts(tmp_path, servers):
    """Valkey 8.0.1 writes files in which a replica's shard-id is not its primary's (while
    shard ids settle after a failover) and then does not start on them. Shown first on the file
    as it is; then prepare gives the replica its primary's shard-id (what later releases do at
    load), changes nothing else but the hosts, and Valkey starts."""
    text, me = replica_file()
    bad = text.replace(me, SHARD.sub("shard-id=" + "0" * 40, me))
    as_is = tmp_path / "as-is"
    as_is.mkdir()
    (as_is / "nodes.conf").write_text(bad)
    refused = servers(str(as_is), f"{NET}.200", 6379)
    assert not refused.started()
    assert refused.proc.returncode == 1
    assert "Unrecoverable error: corrupted cluster config file" in refused.log()

    _, myself, _, my_ip, out = rewrite(tmp_path, None, bad)
    assert "Giving a replica its primary's shard-id" in out and "0" * 40 in out
    written = (tmp_path / "nodes.conf").read_text()
    assert "shard-id=" + "0" * 40 not in written
    mine = next(l for l in node_lines(written) if l.split()[0] == myself)
    primary = next(l for l in node_lines(written) if l.split()[0] == mine.split()[3])
    assert SHARD.findall(mine) == SHARD.findall(primary)
    server = servers(str(tmp_path), my_ip, 6379)
    assert server.started(), server.log()[-2000:]


def test_valkey_refuses_an_unknown_aux_field_that_prepare_keeps(tmp_path, servers):
    text, me = replica_file()
    bad = text.replace(me, me.replace(",tls-port=0,", ",tls-port=0,future=1,"))
    _, _, _, my_ip, out = rewrite(tmp_path, None, bad)
    assert "unknown aux field 'future' kept as it is" in out
    assert ",tls-port=0,future=1,shard-id=" in (tmp_path / "nodes.conf").read_text()
    server = servers(str(tmp_path), my_ip, 6379)
    assert not server.started()
    assert "corrupted cluster config file" in server.log()


def test_valkey_loads_primary_and_replica_flag_words(tmp_path, servers):
    """Valkey 8 accepts primary/replica on load (and writes master/slave again)."""
    text, _ = replica_file()
    words = (text.replace(" master ", " primary ").replace(" slave ", " replica ")
             .replace("myself,slave ", "myself,replica "))
    _, myself, _, my_ip, _ = rewrite(tmp_path, None, words)
    assert " primary " in (tmp_path / "nodes.conf").read_text()
    server = servers(str(tmp_path), my_ip, 6379)
    assert server.started(), server.log()[-2000:]
    me = next(l for l in server.command("CLUSTER", "NODES").splitlines() if l.startswith(myself))
    assert me.split()[2] == "myself,slave"
