"""Issue 3: ordinal 0 creates the cluster by itself, once, only from empty nodes.

Judged by the real `redis-cli --cluster check` and a real cluster client, not by the agent.
"""
import os
import random
import time

import pytest

import agent_http
from wait import wait_for

CHANGING = ("cluster|meet", "cluster|addslots", "cluster|addslotsrange", "cluster|replicate",
            "cluster|forget", "cluster|reset", "cluster|set-config-epoch", "cluster|failover",
            "cluster|delslots", "cluster|setslot", "flushall", "flushdb", "config|set")
CREATIONS = 'redis_cluster_agent_actions_total{action="creation"}'
SHORTENED_MS = 1000  # what the creator sets on the masters while it creates


def node_timeouts(sts):
    return [int(sts.redis(i).config_get("cluster-node-timeout")["cluster-node-timeout"])
            for i in range(sts.size)]


def boost_record(sts):
    return os.path.join(sts.data_dir(0), "nodes.timeout-boost")


def assert_node_timeout_restored(sts, timeout=10):
    """Creation shortens node-timeout on the masters; formed means every node is back on the
    configured value and the record is gone."""
    def restored():
        timeouts = node_timeouts(sts)
        return timeouts == [sts.node_timeout] * sts.size, timeouts
    wait_for("node-timeout back on the configured value everywhere", restored, timeout, 0.05)
    wait_for("the boost record removed", lambda: not os.path.exists(boost_record(sts)),
             timeout, 0.05)


def check_cluster(sts):
    rc, out = sts.cluster_check()
    assert rc == 0, out
    assert "[OK] All nodes agree about slots configuration." in out
    assert "[OK] All 16384 slots covered." in out
    # Every master has its replicas, none on its master's Kubernetes node.
    nodes = sts.command(0, "CLUSTER", "NODES").splitlines()
    pod_of = {sts.command(p.ordinal, "CLUSTER", "MYID"): p for p in sts.pods}
    masters = [l.split() for l in nodes if "master" in l.split()[2]]
    assert len(masters) == sts.size // (sts.replicas + 1)
    for m in masters:
        replicas = [l.split() for l in nodes if l.split()[3] == m[0]]
        assert len(replicas) == sts.replicas, nodes
        for r in replicas:
            assert pod_of[r[0]].k8s_node != pod_of[m[0]].k8s_node
    # A real cluster client writes and reads keys on every shard.
    client = sts.cluster_client()
    for k in range(200):
        client.set(f"key:{k}", k)
    assert [int(client.get(f"key:{k}")) for k in range(200)] == list(range(200))
    client.close()


def commandstats(sts, i):
    stats = sts.redis(i).info("commandstats")
    return {k[len("cmdstat_"):]: v["calls"] for k, v in stats.items()}


@pytest.mark.parametrize("pods,replicas", [(6, 1), (9, 2)])
def test_forms_from_random_start_order(sts_factory, pods, replicas):
    sts = sts_factory(pods=pods, replicas=replicas)
    order = list(range(pods))
    random.shuffle(order)
    sts.up(order=order, delay=lambda: random.uniform(0, 0.4))
    sts.wait_healthy(timeout=60)
    check_cluster(sts)
    assert_node_timeout_restored(sts)
    created = [agent_http.metrics(p.ip)[CREATIONS] for p in sts.pods]
    assert created == [1] + [0] * (pods - 1)  # only ordinal 0 creates, once
    log = sts.agent_log_text(0)
    assert "Cluster is formed" in log
    assert "Shortening cluster-node-timeout on the masters during creation" in log


@pytest.mark.parametrize("point",
                         ["shorten", "slots", "epochs", "meet-half", "meet", "replicate-half"])
def test_ordinal_0_killed_mid_creation_finishes_on_restart(sts_factory, point):
    sts = sts_factory(pods=6, replicas=1)
    sts.pod_agent_args[0] = [f"--crash-after={point}"]
    sts.up()
    assert sts.pods[0].agent.wait(30), "the agent did not reach the crash point"
    assert f"Fault injection: killing the agent after={point}" in sts.agent_log_text(0)
    if point == "shorten":
        # Killed with the masters on the short value: only the record remembers the real one.
        assert node_timeouts(sts) == [SHORTENED_MS] * 3 + [sts.node_timeout] * 3
        with open(boost_record(sts)) as f:
            assert f"configured {sts.node_timeout}\n" in f.read()
    sts.pod_agent_args.pop(0)
    sts.start_agent(0)
    sts.wait_healthy(timeout=60)
    check_cluster(sts)
    assert_node_timeout_restored(sts)


def test_node_with_a_key_blocks_creation_and_keeps_the_key(sts_factory):
    sts = sts_factory(pods=6, replicas=1)
    sts.up(agent=False)
    # Leave a key behind on pod 4 in a slot it does not own (real commands, no file tricks).
    slot = sts.redis(4).cluster("KEYSLOT", "precious")
    sts.command(4, "CLUSTER", "ADDSLOTS", str(slot))
    def written():  # a master accepts writes 2 s after it started (CLUSTER_WRITABLE_DELAY)
        try:
            return sts.command(4, "SET", "precious", "data")
        except Exception as e:  # noqa: BLE001
            assert "CLUSTERDOWN" in str(e), e
            return False, str(e)
    wait_for("the write on redis-4", written, 10)
    sts.command(4, "CLUSTER", "DELSLOTS", str(slot))
    for i in range(6):
        sts.start_agent(i)
    wait_for("the creator's refusal", lambda: "holds 1 key(s)" in sts.agent_log_text(0), 20)
    time.sleep(3)  # a window in which a wrong agent would act; nothing may happen in it
    log = sts.agent_log_text(0)
    assert "Not creating the cluster: not every node is empty" in log
    assert "redis-4 holds 1 key(s); creation needs empty nodes" in log
    for i in range(6):
        assert sts.redis(i).info("cluster")["cluster_enabled"] == 1
        assert "cluster_slots_assigned:0" in sts.command(i, "CLUSTER", "INFO")
        assert "cluster_known_nodes:1" in sts.command(i, "CLUSTER", "INFO")
    assert sts.command(4, "CLUSTER", "GETKEYSINSLOT", str(slot), "10") == [b"precious"]
    assert sts.command(4, "DBSIZE") == 1
    assert node_timeouts(sts) == [sts.node_timeout] * 6  # nothing touched, not even that


def test_restarted_agents_send_no_cluster_changing_command(sts_factory):
    sts = sts_factory(pods=6, replicas=1)
    sts.up()
    sts.wait_healthy(timeout=60)
    for i in range(6):
        sts.stop_agent(i)
    for i in range(6):
        sts.command(i, "CONFIG", "RESETSTAT")
    for i in range(6):
        sts.start_agent(i)
    wait_for("the creator seeing the formed cluster",
             lambda: "Cluster is already formed as planned; nothing to do" in
             sts.agent_log_text(0), 20)
    time.sleep(3)  # a window in which a wrong agent would act; nothing may happen in it
    for i in range(6):
        stats = commandstats(sts, i)
        assert stats.get("cluster|nodes", 0) > 0  # the agents did look
        sent = {c: stats[c] for c in CHANGING if c in stats}
        assert sent == {}, f"redis-{i} received {sent}"
    sts.wait_healthy(timeout=10)


def test_creation_with_requirepass_and_masterauth(sts_factory):
    sts = sts_factory(pods=6, replicas=1, password="s3cret pass\"word")
    sts.up()
    sts.wait_healthy(timeout=60)
    check_cluster(sts)
    for i in range(6):
        log = sts.agent_log_text(i)
        assert "s3cret" not in log
        with open(f"{sts.run_dir(i)}/redis-agent.conf") as f:
            assert "requirepass" in f.read()
    import redis
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=sts.pods[0].ip).ping()
