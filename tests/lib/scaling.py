"""A Redis Cluster to move slots in, for tests/e2e/test_migrate.py and bench/scale.py.

The cluster is made the way its users make one by hand (redis-cli --cluster create, then
add-node for every new shard: an empty master and its replica) on the local StatefulSet's pods,
without agents: the agents' own scale path comes later, and the engine under test must be the
only thing moving slots. Keys are loaded with values derived from their names, so a checksum of
every key tells whether any key was lost or changed.
"""
import hashlib
import os
import re
import signal
import subprocess
import time

from localsts import REDIS_PORT
from wait import wait_for


def value_of(i, size=100):
    """The value of key:{i}: `size` bytes that depend on i."""
    seed = hashlib.sha256(str(i).encode()).hexdigest()
    return (seed * (size // len(seed) + 1))[:size]


def _cli_env(sts):
    env = dict(os.environ)
    if sts.password is not None:
        env["REDISCLI_AUTH"] = sts.password
    return env


def redis_cli_cluster(sts, *args, timeout=600):
    """redis-cli --cluster ARGS with the set's password in the environment (never in argv)."""
    r = subprocess.run(["redis-cli", "--cluster", *args], capture_output=True, text=True,
                       env=_cli_env(sts), timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def addr(sts, i):
    return f"{sts.pods[i].ip}:{REDIS_PORT}"


# Every command that changes who owns a slot, forgets or resets a node, or drops data.
DESTRUCTIVE = ("cluster|forget", "cluster|failover", "cluster|setslot", "cluster|addslots",
               "cluster|addslotsrange", "cluster|delslots", "cluster|delslotsrange",
               "cluster|reset", "cluster|replicate", "cluster|bumpepoch",
               "cluster|set-config-epoch", "flushall", "flushdb")


def command_calls(sts, i):
    """{command: calls} from INFO commandstats of pod i."""
    out = {}
    for line in sts.command(i, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, stats = line[len("cmdstat_"):].partition(":")
            out[name] = int(stats.split(",")[0].split("=")[1])
    return out


def destructive_since(sts, i, before):
    now = command_calls(sts, i)
    return {c: now.get(c, 0) - before.get(c, 0) for c in DESTRUCTIVE
            if now.get(c, 0) != before.get(c, 0)}


class StoppedVerb:
    """A `scale` or `rebalance` run (`argv`, with --test-stop-at `point`) until it stops itself
    there (SIGSTOP). Its output goes to a file in `log_dir`, since a stopped process drains no
    pipe; `slot` is the slot it stopped on."""

    def __init__(self, argv, point, log_dir, timeout=180):
        self.log_path = os.path.join(log_dir, f"verb-{point}-{time.monotonic_ns()}.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([*argv, "--test-stop-at", point], stdout=log,
                                         stderr=subprocess.STDOUT)
        self.exit_status = None
        try:
            wait_for(f"the verb to stop at {point}", self._stopped, timeout=timeout, interval=0.1)
        except BaseException:
            self.kill()
            raise
        out = self.output()
        assert self.exit_status is None, f"the verb ended before {point}:\n{out[-3000:]}"
        found = re.search(r"Stopping at a test point.*point=" + point + r".*slot=(\d+)", out)
        assert found, out[-3000:]
        self.slot = int(found.group(1))

    def _stopped(self):
        pid, status = os.waitpid(self.proc.pid, os.WUNTRACED | os.WNOHANG)
        if pid == 0:
            return False, "running"
        if not os.WIFSTOPPED(status):
            self.exit_status = status  # it ended (reaped here: Popen will not see it)
        return True, None

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.exit_status is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.exit_status = self.proc.returncode

    def go_on(self, timeout=240):
        """SIGCONT: the verb goes on from where it stopped; its exit code."""
        self.proc.send_signal(signal.SIGCONT)
        return self.proc.wait(timeout)


def check_clean(sts):
    """redis-cli --cluster check: (clean, output); clean is exit code 0, every slot covered, no
    [ERR] or [WARNING] line (an open slot is a warning)."""
    rc, out = sts.cluster_check()
    clean = rc == 0 and "[OK] All 16384 slots covered." in out and \
        "[ERR]" not in out and "[WARNING]" not in out
    return clean, out


def no_open_slots(sts):
    """(True, None) when no running node reports a MIGRATING/IMPORTING slot."""
    for p in sts.pods:
        if p.running and open_slots_of(sts, p.ordinal):
            return False, f"redis-{p.ordinal}: {open_slots_of(sts, p.ordinal)}"
    return True, None


def open_slots_of(sts, i):
    """The MIGRATING/IMPORTING markers ("[5->-id]", "[5-<-id]") in pod i's own line."""
    me = next(f for f in sts.cluster_nodes(i) if "myself" in f[2])
    return [part for part in me[8:] if part.startswith("[")]


def master_slots(sts, i=0):
    """{node id: slot count} of every master in pod i's view."""
    out = {}
    for f in sts.cluster_nodes(i):
        if "master" not in f[2].split(","):
            continue
        n = 0
        for part in f[8:]:
            if part.startswith("["):
                continue
            a, _, b = part.partition("-")
            n += int(b or a) - int(a) + 1
        out[f[0]] = n
    return out


def balanced(sts):
    """(True, counts) when every master owns within 1% (at least 1 slot) of an even share."""
    counts = master_slots(sts)
    ideal = 16384 // len(counts)
    tolerance = max(1, ideal // 100)
    return all(abs(n - ideal) <= tolerance for n in counts.values()), counts


def _everyone_knows(sts, node_id, members):
    for i in members:
        if node_id not in sts.command(i, "CLUSTER", "NODES"):
            return False, f"redis-{i} does not know {node_id[:8]} yet"
    return True, None


def _everyone_sees_replica(sts, node_id, members):
    for i in members:
        fields = next((f for f in sts.cluster_nodes(i) if f[0] == node_id), [])
        if len(fields) < 3 or "slave" not in fields[2].split(","):
            return False, f"redis-{i}: {fields[:4]}"
    return True, None


def make_cluster(sts, masters, new_masters=1, timeout=120):
    """Starts every pod of `sts` (2 * (masters + new_masters) pods), creates a cluster of
    `masters` masters with one replica each from the first pods, and adds `new_masters` empty
    masters, each with a replica, from the last ones. Returns the new masters' node ids."""
    assert sts.size == 2 * (masters + new_masters)
    sts.up()
    first = [addr(sts, i) for i in range(2 * masters)]
    rc, out = redis_cli_cluster(sts, "create", *first, "--cluster-replicas", "1",
                                "--cluster-yes")
    assert rc == 0, out
    wait_for("cluster formed", lambda: check_clean(sts), timeout=timeout)
    new_ids = []
    for j in range(new_masters):
        m = 2 * masters + 2 * j
        rc, out = redis_cli_cluster(sts, "add-node", addr(sts, m), addr(sts, 0))
        assert rc == 0, out
        node_id = sts.command(m, "CLUSTER", "MYID")
        wait_for(f"redis-{m} known to every node", lambda: _everyone_knows(sts, node_id, range(m)),
                 timeout=timeout)
        # redis-cli's add-node refuses ("Nodes don't agree about configuration") until the new
        # node has learned every master's slots by gossip too, which can take a moment longer.
        wait_for("every node agrees after the add", lambda: check_clean(sts), timeout=timeout)
        rc, out = redis_cli_cluster(sts, "add-node", addr(sts, m + 1), addr(sts, 0),
                                    "--cluster-slave", "--cluster-master-id", node_id)
        assert rc == 0, out
        replica_id = sts.command(m + 1, "CLUSTER", "MYID")
        wait_for(f"redis-{m + 1} seen as a replica by every node",
                 lambda: _everyone_sees_replica(sts, replica_id, range(m + 2)), timeout=timeout)
        new_ids.append(node_id)
    for p in sts.pods:
        wait_for(f"redis-{p.ordinal} knows every node",
                 lambda: sts.command(p.ordinal, "CLUSTER", "INFO").count(
                     f"cluster_known_nodes:{sts.size}") == 1, timeout=timeout)
    return new_ids


def load(sts, n, size=100, chunk=2000):
    """Sets key:{0..n-1} to value_of(i)."""
    client = sts.cluster_client(socket_timeout=10)
    try:
        for start in range(0, n, chunk):
            pipe = client.pipeline(transaction=False)
            for i in range(start, min(n, start + chunk)):
                pipe.set(f"key:{i}", value_of(i, size))
            pipe.execute()
    finally:
        client.close()


def check_keys(sts, n, size=100, chunk=2000):
    """Every key:{i} with its value: the list of problems (empty when none is lost or
    changed)."""
    problems = []
    client = sts.cluster_client(socket_timeout=10)
    try:
        for start in range(0, n, chunk):
            pipe = client.pipeline(transaction=False)
            idx = range(start, min(n, start + chunk))
            for i in idx:
                pipe.get(f"key:{i}")
            for i, got in zip(idx, pipe.execute()):
                want = value_of(i, size).encode()
                if got != want:
                    problems.append(f"key:{i}: {'missing' if got is None else 'changed'}")
    finally:
        client.close()
    return problems
