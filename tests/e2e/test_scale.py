"""Scaling with the agent (issue 13) on real Redis, in helm's order (LocalStatefulSet.
scale_cluster, as `scripts/local-sts scale N` runs it): 6 -> 8 -> 6 -> 8 pods with keys loaded and
the hit-counter writer running. Scale-out: the shape file grows, the two new pods join as a new
shard (an empty master and its replica, not two more replicas of old masters), and
`redis-cluster-agent scale --to 8` rebalances. Scale-in: the shape file shrinks, the verb drains
the leaving shard (--drain-only), the pods go (data dirs kept, like retained PVCs), the verb
forgets their nodes. Out again: the removed pods return with their old data dirs (retained
PVCs) and make the new shard again. And replicas 1 -> 2 -> 1 (6 -> 9 -> 6 pods). After each: `redis-cli --cluster check` clean, the masters even, every node
knowing exactly the pods there are, every key with its value, no acknowledged write lost.
RCA_SCALE_KEYS sets the keys (20k here; the 200k-key run is bench/scale.py's)."""
import os

from scaling import balanced, check_clean, check_keys, load, master_slots
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
        out = sts.scale_cluster(8)
        assert "scale: 100% " in out and "the cluster has its new shape" in out, out
        # The new pods are a shard of their own: 7 follows the new master 6, from another
        # Kubernetes node, and 6 owns its share now.
        assert sts.replica_of(6) == 7
        assert sts.pods[6].k8s_node != sts.pods[7].k8s_node
        assert master_slots(sts)[sts.command(6, "CLUSTER", "MYID")] >= 4096 - 41
        assert_shape(sts, 4, out)

        out = sts.scale_cluster(6)
        assert "pod 6, pod 7 can be removed now" in out, out
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
    assert writer.check_counters() == [], writer.report()
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
    load(sts, KEYS // 4)
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
    assert check_keys(sts, KEYS // 4) == []
    assert writer.check_counters() == [], writer.report()
