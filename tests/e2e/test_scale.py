"""Scaling with the agent (issue 13) on real Redis, in helm's order (LocalStatefulSet.
scale_cluster, as `scripts/local-sts scale N` runs it): 6 -> 8 -> 6 -> 8 pods with keys loaded and
the hit-counter writer running. Scale-out: the shape file grows, the two new pods join as a new
shard (an empty master and its replica, not two more replicas of old masters), and
`redis-cluster-agent scale --to 8` rebalances. Scale-in: the shape file shrinks, the verb drains
the leaving shard (--drain-only), the pods go (data dirs kept, like retained PVCs), the verb
forgets their nodes. Out again: the removed pods return with their old data dirs (retained
PVCs) and make the new shard again. And replicas 1 -> 2 -> 1 (6 -> 9 -> 6 pods). After each: `redis-cli --cluster check` clean, the masters even, every node
knowing exactly the pods there are, every key with its value, no acknowledged write lost (a
counter above its attempts is redis-py's own double write, printed: tests/lib/writer.py).
RCA_SCALE_KEYS sets the keys: 20k in CI; `RCA_SCALE_KEYS=200000` is the issue's 200k-key run
(bench/README.md, "Scaling end to end with 200k keys")."""
import os

import agent_http
from scaling import balanced, check_clean, check_keys, load, master_slots
from wait import wait_for
from writer import CounterWriter

PASSWORD = "scale-e2e-Secret-4c1d"
KEYS = int(os.environ.get("RCA_SCALE_KEYS", "20000"))


def known_nodes(sts):
    """pod -> how many nodes its Redis knows."""
    out = {}
    for p in sts.pods:
        info = sts.command(p.ordinal, "CLUSTER", "INFO")
        out[p.ordinal] = int(info.split("cluster_known_nodes:")[1].split()[0])
    return out


def role_of(sts, i):
    """The flags of pod i's own line (myself,master or myself,slave)."""
    return next(f for f in sts.cluster_nodes(i) if "myself" in f[2])[2]


def reshape_metrics(sts, i):
    m = agent_http.metrics(sts.pods[i].ip)
    return {k: m.get(f"redis_cluster_agent_{k}") for k in
            ("shape_nodes", "shape_masters", "scale_slots_to_move", "scale_slots_moved")}


def wait_reshape(sts, i, nodes, to_move):
    """Until pod i's agent follows a shape of `nodes` pods and counts `to_move` slots to move."""
    want = {"shape_nodes": nodes, "scale_slots_to_move": to_move}
    wait_for(f"agent {i}: shape {nodes}, {to_move} slots to move",
             lambda: (all(reshape_metrics(sts, i)[k] == v for k, v in want.items()),
                      reshape_metrics(sts, i)), timeout=30)


def check_reshape_reported(sts, step, what):
    """The agents show how far the slots are from a new shape before the verb moves them (the
    scale's progress, whoever runs it): a quarter of the slots either way. `status` too when
    growing (the local `status` takes the size from its flags, which follow the StatefulSet,
    not the shape file: when shrinking it runs before the pods go)."""
    if what != step:
        return
    growing = step == "pods started"
    wait_reshape(sts, 0, 8 if growing else 6, 4096)
    if growing:
        rc, status = sts.status()
        assert status["shape"]["slotsToMove"] == 4096, status["shape"]
        assert any("4096 slots to move" in w for w in status["warnings"]), status["warnings"]


def assert_shape(sts, masters, out):
    assert PASSWORD not in out, "the password leaked into the verb's output"
    clean, check = check_clean(sts)
    assert clean, check
    ok, counts = balanced(sts)
    assert ok and len(counts) == masters, counts
    assert set(known_nodes(sts).values()) == {sts.size}, known_nodes(sts)
    assert check_keys(sts, KEYS) == []


def test_scale_out_by_a_shard_and_back_in_under_writes(sts_factory):
    sts = sts_factory(pods=6, replicas=1, password=PASSWORD)
    sts.up()
    sts.wait_healthy(timeout=120)
    load(sts, KEYS)
    writer = CounterWriter(sts).start()
    try:
        out = sts.scale_cluster(8, on_step=lambda w: check_reshape_reported(sts, "pods started", w))
        assert "scale: 100% " in out and "the cluster has its new shape" in out, out
        for p in sts.pods:  # and once the verb is done, nothing is left to move
            wait_reshape(sts, p.ordinal, 8, 0)
        # The new pods are a shard of their own: 7 follows the new master 6, from another
        # Kubernetes node, and 6 owns its share now.
        assert sts.replica_of(6) == 7
        assert sts.pods[6].k8s_node != sts.pods[7].k8s_node
        assert master_slots(sts)[sts.command(6, "CLUSTER", "MYID")] >= 4096 - 41
        assert_shape(sts, 4, out)

        out = sts.scale_cluster(6, on_step=lambda w: check_reshape_reported(sts, "shape written", w))
        assert "pod 6, pod 7 can be removed now" in out, out
        wait_reshape(sts, 0, 6, 0)
        assert "Forgetting a node whose pod is gone" in out, out
        assert_shape(sts, 3, out)

        # The same pods come back with their old data dirs (retained PVCs): their nodes.conf
        # says they are replicas of staying masters. One is reset into the new shard's master,
        # the other follows it; no stale node is left behind.
        out = sts.scale_cluster(8)
        assert "A surplus replica becomes the master of a new shard" in out, out
        assert_shape(sts, 4, out)
        master = next(i for i in (6, 7) if "master" in role_of(sts, i))
        assert sts.replica_of(master) == 13 - master
    finally:
        writer.stop()
    assert writer.check_counters(excess_ok=True) == [], writer.report()
    print("client double writes (reported, not lost):", writer.excess)
    # Changing the size restarted no pod: the agents followed the shape file.
    assert "The cluster's shape changed" in open(sts.agent_log(0)).read()


def replicas_per_master(sts):
    """node ID of each master -> how many running pods replicate it."""
    out = {}
    for p in sts.pods:
        me = next(f for f in sts.cluster_nodes(p.ordinal) if "myself" in f[2])
        if "master" in me[2]:
            out.setdefault(me[0], 0)
        else:
            out[me[3]] = out.get(me[3], 0) + 1
    return out


def test_replicas_one_to_two_and_back_under_writes(sts_factory):
    sts = sts_factory(pods=6, replicas=1, password=PASSWORD)
    sts.up()
    sts.wait_healthy(timeout=120)
    load(sts, KEYS)
    writer = CounterWriter(sts).start()
    try:
        out = sts.scale_cluster(9, replicas=2)  # the new pods are replicas: no slot moves
        assert "slots_to_move=0" in out, out
        assert sorted(replicas_per_master(sts).values()) == [2, 2, 2]
        clean, check = check_clean(sts)
        assert clean, check
        out = sts.scale_cluster(6, replicas=1)
        assert "pod 6, pod 7, pod 8 can be removed now" in out, out
        assert sorted(replicas_per_master(sts).values()) == [1, 1, 1]
        clean, check = check_clean(sts)
        assert clean, check
        assert set(known_nodes(sts).values()) == {6}, known_nodes(sts)
    finally:
        writer.stop()
    assert check_keys(sts, KEYS) == []
    assert writer.check_counters(excess_ok=True) == [], writer.report()
    print("client double writes (reported, not lost):", writer.excess)
