"""Server versions: a cluster that mixes Redis 7.0.15 and Valkey 8.0.1 (docs/redis-facts.md,
"Server versions and which way replication works").

A 6-pod Redis 7.0.15 cluster; pod 0, a master, is deleted with its preStop handover (its
replica takes over) and comes back on the same data running Valkey 8.0.1, as in a rolling
update to Valkey. Pod 0 is now a Valkey replica of a Redis 7.0 master, which works (the older
master's RDB loads in the newer replica). The layout keeper wants pod 0 to be the master again,
but that failover would make the Redis 7.0 node follow a Valkey 8 master, whose RDB it cannot
load: the agent refuses, says so with both versions, and counts it. `status` and the metrics
show each pod's server.

Then the whole way: a rolling update of every pod from Redis 7.0.15 to Valkey 8.0.1 under
writes, which loses nothing.
"""
import shutil

import pytest

import agent_http
from wait import wait_for
from writer import CounterWriter

# The first full sync waits repl-diskless-sync-delay (5 s by default); the test does not need it.
FAST_SYNC = ("repl-diskless-sync-delay 0",)
# The keeper never moves before 2 x cluster-node-timeout (5 s here) of quiet.
QUIET = "10s"
REFUSAL = "Not moving the shard's master to this node"
P = "redis_cluster_agent_"


def _metrics(sts, i):
    return agent_http.metrics(sts.pods[i].ip)


def _linked(sts, i):
    info = sts.command(i, "INFO", "replication")
    return "master_link_status:up" in info and "master_sync_in_progress:0" in info


@pytest.mark.skipif(shutil.which("valkey-server") is None, reason="valkey-server not installed")
def test_a_redis_70_node_is_never_made_to_follow_a_valkey_8_master(sts_factory):
    sts = sts_factory(pods=6, replicas=1, redis_conf=FAST_SYNC,
                      agent_args=[f"--layout-quiet-period={QUIET}"])
    sts.up()
    sts.wait_ready(timeout=90)
    replica = sts.replica_of(0)
    sts.delete_pod(0)  # preStop: the handover makes the Redis 7.0 replica the master
    wait_for(f"redis-{replica} master", lambda: sts.role(replica) == "master", 10)
    sts.pod_servers[0] = "valkey"
    sts.start_pod(0, new_ip=True)
    assert sts.command(0, "INFO", "server").count("valkey_version:8.0.1") == 1
    # A Valkey 8 replica of a Redis 7.0 master: the direction that works.
    wait_for("redis-0 synced as a replica", lambda: sts.role(0) == "slave" and _linked(sts, 0), 60)
    # The keeper would fail back after the quiet period; it refuses instead.
    wait_for("the layout keeper's refusal", lambda: REFUSAL in sts.agent_log_text(0), 90,
             interval=0.5)
    line = next(l for l in sts.agent_log_text(0).splitlines() if REFUSAL in l)
    assert f"redis-{replica} (redis 7.0.15) cannot follow redis-0 (valkey 8.0.1)" in line, line
    m = _metrics(sts, 0)
    assert m[P + 'errors_total{kind="older_replica_refused"}'] >= 1
    assert m[P + 'server_info{server="valkey",version="8.0.1"}'] == 1
    assert m[P + 'actions_total{action="layout_failover"}'] == 0
    assert _metrics(sts, replica)[P + 'server_info{server="redis",version="7.0.15"}'] == 1
    # Nothing moved: the Redis 7.0 node keeps the shard, the Valkey node follows it.
    assert sts.role(replica) == "master" and sts.role(0) == "slave"
    assert "Moving the shard's master" not in sts.agent_log_text(0)

    sts.wait_healthy(timeout=60)
    rc, out = sts.status()
    assert rc == 0, out  # mixed servers are a warning, not a failure
    servers = {p["pod"]: p["server"] for p in out["pods"]}
    assert servers["redis-0"]["name"] == "valkey" and servers["redis-0"]["version"] == "8.0.1"
    assert all(servers[f"redis-{i}"] == {"name": "redis", "version": "7.0.15",
                                         "redisVersion": "7.0.15"} for i in range(1, 6))
    assert any("the pods run different servers" in w for w in out["warnings"]), out["warnings"]
    rc, text = sts.status(json_output=False)
    row = next(l.split() for l in text.splitlines() if l.startswith("redis-0 "))
    assert row[-1] == "valkey:8.0.1", text


@pytest.mark.skipif(shutil.which("valkey-server") is None, reason="valkey-server not installed")
def test_rolling_update_from_redis_to_valkey_loses_no_write(sts_factory, capsys):
    """A live migration: the image changes from Redis 7.0.15 to Valkey 8.0.1 and the
    StatefulSet rolls (highest ordinal first, preStop handover, each pod ready before the next).
    Every pod comes back on its own data running Valkey; while the roll runs, a Valkey replica
    follows a Redis master (the direction that works) and no Redis node is made to follow a
    Valkey master. Under the counter writer: no acknowledged write lost, no counter goes back."""
    sts = sts_factory(pods=6, replicas=1, redis_conf=FAST_SYNC)
    sts.up()
    sts.wait_ready(timeout=90)
    keys = {f"kept:{k}": str(k) for k in range(500)}
    client = sts.cluster_client()
    for k, v in keys.items():
        client.set(k, v)
    client.close()
    writer = CounterWriter(sts).start()
    try:
        for i in range(sts.size):
            sts.pod_servers[i] = "valkey"  # the new image, used by each pod's next start
        records = sts.rollout_restart(ready_timeout=120)
    finally:
        writer.stop()
    with capsys.disabled():
        print("\n".join(sts.roll_report("\nrolling update of 6 pods from Redis 7.0.15 to "
                                         "Valkey 8.0.1:", records, writer)))
    assert writer.check_counters() == []
    assert writer.totals()[1] > 1000, writer.report()
    for rec in records:
        assert rec["prestop"].rc == 0, rec
    for i in range(sts.size):
        assert "valkey_version:8.0.1" in sts.command(i, "INFO", "server"), f"redis-{i}"
    rc, out = sts.cluster_check()
    assert rc == 0 and "[OK] All 16384 slots covered." in out, out
    client = sts.cluster_client()  # every pod has a new address now
    assert {k: client.get(k).decode() for k in keys} == keys
    client.close()
    rc, out = sts.status()
    assert rc == 0, out
    assert not any("different servers" in w for w in out["warnings"]), out["warnings"]
    for i in range(sts.size):
        assert _metrics(sts, i)[P + 'errors_total{kind="older_replica_refused"}'] == 0
