"""--mode observe: probes, metrics and status only. Redis' own INFO commandstats is the witness
that no agent ever sent a command that changes a node or the cluster."""
import subprocess
import time

import agent_http
from wait import wait_for

# Commands an observing agent may send, this test's own INFO / CONFIG RESETSTAT / ROLE, and the
# replication traffic between Redis nodes themselves (REPLCONF ACK, PING, PSYNC).
READ_ONLY = {"auth", "ping", "info", "role", "cluster|info", "cluster|nodes", "cluster|myid",
             "cluster|slots", "cluster|shards", "config|resetstat", "replconf", "psync", "sync"}


def commands_seen(sts, i):
    """{command: calls} since the last CONFIG RESETSTAT, from INFO commandstats."""
    text = sts.command(i, "INFO", "commandstats")
    out = {}
    for line in text.splitlines():
        if line.startswith("cmdstat_"):
            name, stats = line[len("cmdstat_"):].split(":", 1)
            out[name] = int(stats.split(",")[0].split("=")[1])
    return out


def assert_only_reads(sts):
    for p in sts.pods:
        seen = commands_seen(sts, p.ordinal)
        assert not set(seen) - READ_ONLY, f"{p.name} ran {set(seen) - READ_ONLY}"
        # The agents did look: every node answered their CLUSTER NODES.
        assert seen.get("cluster|nodes", 0) > 0, f"{p.name}: no agent polled it ({seen})"


def test_observe_mode_never_changes_the_cluster(sts_factory):
    sts = sts_factory(pods=6, replicas=1, agent_args=["--mode=observe"])
    sts.up()
    # In act mode ordinal 0 would have created the cluster by now (about 2 s).
    time.sleep(5)
    for p in sts.pods:
        assert "cluster_known_nodes:1" in sts.command(p.ordinal, "CLUSTER", "INFO")
    assert_only_reads(sts)
    status, body = agent_http.get(sts.pods[0].ip, "/readyz")
    assert status == 503 and "[-]cluster-joined failed: not part of a cluster yet" in body
    m = agent_http.metrics(sts.pods[0].ip)
    assert m["redis_cluster_agent_observe_mode"] == 1
    assert m['redis_cluster_agent_phase{phase="bootstrapping"}'] == 1
    assert m['redis_cluster_agent_actions_total{action="addslots"}'] == 0
    assert "Assigning slots" not in sts.agent_log_text(0)

    # Created by hand, the cluster is observed: probes pass, status is healthy, and a failover
    # the agents watch still makes none of them act.
    r = subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"{p.ip}:6379" for p in sts.pods], "--cluster-replicas", "1",
                        "--cluster-yes"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    sts.wait_healthy(timeout=60)
    replica = next(p.ordinal for p in sts.pods
                   if sts.command(p.ordinal, "ROLE")[0] == b"slave")
    sts.command(replica, "CLUSTER", "FAILOVER")
    wait_for("the observed cluster ready",
             lambda: all(agent_http.get(p.ip, "/readyz")[0] == 200 for p in sts.pods), 30, 0.2)
    # From here on, only the agents talk to Redis.
    for p in sts.pods:
        sts.command(p.ordinal, "CONFIG", "RESETSTAT")
    time.sleep(3)
    assert_only_reads(sts)

    # A node learns another's new role only from that node's own packets, up to half a
    # node-timeout after the failover (later under load): `status` is healthy once every view
    # has caught up.
    def healthy():
        rc, out = sts.status()
        return rc == 0, out
    wait_for("status healthy in every node's view", healthy, 30, 0.5)
