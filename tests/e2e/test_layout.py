"""Issue 16: the layout keeper puts masters back where the layout wants them.

Real redis-server and real agents on loopback (tests/lib/localsts.py). Pod i runs on the
Kubernetes node knode-(i % k8s_nodes), given to its agent with --node-name (the chart passes
spec.nodeName through the downward API); zones are given with --zone the same way.
"""
import time

import agent_http
from wait import wait_for
from writer import CounterWriter

# The first full sync waits repl-diskless-sync-delay (5 s by default); tests do not need it.
FAST_SYNC = ("repl-diskless-sync-delay 0",)
# The keeper never moves before 2 x cluster-node-timeout (5 s here) of quiet.
QUIET = "10s"


def _masters(sts):
    return [i for i in range(sts.size) if sts.pods[i].running and sts.role(i) == "master"]


def _layout_failovers(sts, i):
    """The layout failovers pod i's agent made since it started (its counter)."""
    m = agent_http.metrics(sts.pods[i].ip)
    return m['redis_cluster_agent_actions_total{action="layout_failover"}']


def _cluster(sts_factory, **kw):
    kw.setdefault("agent_args", [f"--layout-quiet-period={QUIET}"])
    sts = sts_factory(pods=6, replicas=1, redis_conf=FAST_SYNC, **kw)
    sts.up()
    sts.wait_ready(timeout=90)
    return sts


def _per(sts, key):
    out = {}
    for i in _masters(sts):
        out.setdefault(key(i), []).append(i)
    return out


def test_pod0_deleted_without_prestop_is_master_again_after_the_quiet_period(sts_factory, capsys):
    sts = _cluster(sts_factory)
    assert _masters(sts) == [0, 1, 2]
    replica = sts.replica_of(0)
    outage = CounterWriter(sts).start()
    try:
        time.sleep(1)
        # The tutorial's demo: the pod is deleted with a plain SIGTERM, no handover.
        sts.delete_pod(0, prestop=False)
        wait_for(f"redis-{replica} promoted", lambda: sts.role(replica) == "master", 60)
        sts.start_pod(0, new_ip=True)
        sts.wait_ready(timeout=90)
        assert sts.role(0) == "slave"
        time.sleep(1)
    finally:
        outage.stop()
    assert outage.check_counters() == []
    # The second writer counts from zero on the same keys.
    client = sts.cluster_client()
    for keys in outage.keys:
        for key in keys:
            client.delete(key)
    client.close()
    back_at = time.monotonic()
    failback = CounterWriter(sts).start()
    try:
        wait_for("redis-0 master again", lambda: sts.role(0) == "master", 120)
        done_at = time.monotonic()
        wait_for(f"redis-{replica} a replica again", lambda: sts.role(replica) == "slave", 10)
        time.sleep(1)
    finally:
        failback.stop()
    with capsys.disabled():
        print(f"\nfailback of redis-0: master again {done_at - back_at:.1f}s after it was ready "
              f"(quiet period {QUIET}); writer gap during the failback "
              f"{failback.longest_gap:.3f}s, during the outage {outage.longest_gap:.3f}s")
        for line in failback.report():
            print("  " + line)
    assert failback.check_counters() == []
    assert failback.totals()[1] > 500, failback.report()
    # A graceful failover: the master's writes pause only while the replica catches up.
    assert failback.longest_gap < 1.0, failback.report()
    # Quiet first: not before 2 x node-timeout after the last change (pod 0's return).
    assert done_at - back_at > 5
    assert _layout_failovers(sts, 0) == 1
    assert sum(_layout_failovers(sts, i) for i in range(1, 6)) == 0
    assert _masters(sts) == [0, 1, 2]
    for i in range(sts.size):
        assert "cluster_state:ok" in sts.command(i, "CLUSTER", "INFO")


def test_two_masters_on_one_kubernetes_node_are_spread_again(sts_factory):
    sts = _cluster(sts_factory, agent_args=[f"--layout-quiet-period={QUIET}",
                                            "--layout-keeper=spread"])
    node = lambda i: sts.pods[i].k8s_node  # noqa: E731
    assert all(len(v) == 1 for v in _per(sts, node).values())
    # A manual failover on any replica puts it on a node that already runs a master (3 nodes).
    replica = sts.replica_of(1)
    assert sts.command(replica, "CLUSTER", "FAILOVER") == "OK"
    wait_for(f"redis-{replica} promoted", lambda: sts.role(replica) == "master", 30)
    assert any(len(v) == 2 for v in _per(sts, node).values())
    wait_for("one master per Kubernetes node",
             lambda: len(_masters(sts)) == 3 and
             all(len(v) == 1 for v in _per(sts, node).values()), 120)
    assert sum(_layout_failovers(sts, i) for i in range(sts.size)) == 1


def test_with_zones_masters_are_spread_over_zones(sts_factory):
    # Six Kubernetes nodes (no two pods share one), three zones: pod i in zone-(i % 3).
    zone = lambda i: f"zone-{i % 3}"  # noqa: E731
    sts = sts_factory(pods=6, replicas=1, redis_conf=FAST_SYNC, k8s_nodes=6,
                      agent_args=[f"--layout-quiet-period={QUIET}", "--layout-keeper=spread"])
    sts.pod_agent_args = {i: [f"--zone={zone(i)}"] for i in range(6)}
    sts.up()
    sts.wait_ready(timeout=90)
    assert all(len(v) == 1 for v in _per(sts, zone).values())
    # The creator kept every replica out of its master's zone.
    for m in _masters(sts):
        assert zone(sts.replica_of(m)) != zone(m)
    replica = sts.replica_of(0)
    assert sts.command(replica, "CLUSTER", "FAILOVER") == "OK"
    wait_for(f"redis-{replica} promoted", lambda: sts.role(replica) == "master", 30)
    assert any(len(v) == 2 for v in _per(sts, zone).values())
    wait_for("one master per zone",
             lambda: len(_masters(sts)) == 3 and
             all(len(v) == 1 for v in _per(sts, zone).values()), 120)
    assert sum(_layout_failovers(sts, i) for i in range(sts.size)) == 1


def _link_state(sts, master, replica):
    """How `master`'s INFO lists `replica`'s link (online, wait_bgsave, send_bulk...), or None."""
    info = sts.redis(master).info("replication")
    ip = sts.pods[replica].ip
    for k, v in info.items():
        if k.startswith("slave") and isinstance(v, dict) and v.get("ip") == ip:
            return v.get("state")
    return None


def test_prestop_waits_for_a_replica_mid_sync_then_hands_over(sts_factory):
    sts = _cluster(sts_factory, agent_args=["--layout-keeper=off"])
    master = 0
    replica = sts.replica_of(master)
    # The replica's restart needs a full sync (it loads an AOF, which carries no replication
    # ID); the master waits this long before starting it, as with Redis' default 5 s.
    delay = 6
    sts.command(master, "CONFIG", "SET", "repl-diskless-sync-delay", str(delay))
    sts.stop_pod(replica)
    sts.start_pod(replica, new_ip=True)
    wait_for(f"redis-{replica} in its first sync",
             lambda: _link_state(sts, master, replica) in ("wait_bgsave", "send_bulk"), 30)
    # Mid-sync means back in the cluster and syncing: the master's bus link to the replica's new
    # address is up (until then the replica is one the handover cannot count on, a different case).
    replica_id = sts.command(replica, "CLUSTER", "MYID")

    def bus_link_up():
        for line in sts.command(master, "CLUSTER", "NODES").splitlines():
            f = line.split()
            if f and f[0] == replica_id:
                return f[7] == "connected"
        return False
    wait_for(f"redis-{master}'s bus link to redis-{replica}", bus_link_up, 30)
    assert _link_state(sts, master, replica) in ("wait_bgsave", "send_bulk"), "sync ended early"
    t0 = time.monotonic()
    pre = sts.delete_pod(master)
    assert pre.rc == 0 and pre.outcome == "done", pre
    assert "waiting for a replica to finish its sync" in pre.output, pre
    # It waited for the sync (most of the delay), then the failover itself took under a second.
    assert 2 < pre.seconds < delay + 5, pre
    assert time.monotonic() - t0 < delay + 10
    assert sts.role(replica) == "master"
    assert "cluster_state:ok" in sts.command(replica, "CLUSTER", "INFO")
