"""Issue 12, defects 1 and 2: membership is changed only on evidence of identity.

An ID answering at an address says nothing about which pod owns it: a stale DNS record must
never make the agents learn a wrong ordinal, retire an identity or forget a node whose pod is
merely down (defect 1). An empty node must never MEET a node whose cluster is not provably ours
(defect 2). Both run the exact sequences of the issue on real Redis and real agents.
"""
import os
import time

import pytest

from agent_http import metrics
from hosts import rewrite_in_place

NODE_TIMEOUT = 15000  # Redis itself fails nothing over while these scenarios run


def ids_known_by(sts, i):
    return {n[0] for n in sts.cluster_nodes(i) if "handshake" not in n[2]}


def my_id(sts, i):
    return sts.command(i, "CLUSTER", "MYID")


def ordinal_map(sts, i):
    """nodes.ordinals of pod i: current entries, node ID -> ordinal."""
    out = {}
    path = os.path.join(sts.data_dir(i), "nodes.ordinals")
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            words = line.split()
            if words and words[0] == "node":
                out[words[1]] = int(words[2])
    return out


def hosts_with(sts, overrides):
    """The StatefulSet's hosts file with some pod names pointing elsewhere ({ordinal: ip})."""
    lines = ["127.0.0.1 localhost"]
    for p in sts.pods:
        if p.ordinal in overrides:
            lines.append(f"{overrides[p.ordinal]} {p.dns_name} {p.name}")
        elif p.running:
            lines.append(f"{p.ip} {p.dns_name} {p.name}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("victim", [3, 1], ids=["replica", "master"])
def test_stale_dns_record_never_makes_the_agents_forget_a_live_node(sts_factory, victim):
    """Defect 1. Pod `victim`'s Redis and agent are SIGKILLed; for 3 s its DNS name points at
    pod 2's IP (a stale or reused record). Then the pod comes back with its own nodes.conf and
    its correct record. Nothing may be forgotten, learned wrong, or failed over, and the cluster
    heals as after any restart."""
    sts = sts_factory(pods=6, replicas=1, node_timeout=NODE_TIMEOUT)
    sts.up()
    sts.wait_healthy(timeout=60)
    other = 2
    assert sts.role(victim) == ("slave" if victim >= 3 else "master")
    victim_id, other_id = my_id(sts, victim), my_id(sts, other)
    before = sts.self_roles()
    log_start = {i: len(sts.agent_log_text(i)) for i in range(6)}

    sts.kill_pod(victim)
    real_ip = sts.pods[victim].ip
    # The stale record: the victim's name resolves to pod 2's address, where pod 2's Redis and
    # pod 2's agent answer.
    for i in range(6):
        if i != victim:
            rewrite_in_place(sts.hosts_path(i), hosts_with(sts, {victim: sts.pods[other].ip}))
    time.sleep(3)
    sts.write_hosts()  # the record is gone again while the pod is down
    assert sts.pods[victim].ip == real_ip
    sts.start_pod(victim, new_ip=True)

    sts.wait_healthy(timeout=30)
    for i in range(6):
        log = sts.agent_log_text(i)[log_start[i]:]
        assert "Forgetting a node" not in log, f"redis-{i}: {log[-3000:]}"
        assert "Taking over the slots" not in log, f"redis-{i}: {log[-3000:]}"
    for i in range(6):
        assert victim_id in ids_known_by(sts, i), f"redis-{i} does not know redis-{victim}"
        m = ordinal_map(sts, i)
        assert m.get(other_id, other) == other, f"redis-{i}: nodes.ordinals {m}"
        assert m.get(victim_id, victim) == victim, f"redis-{i}: nodes.ordinals {m}"
    assert sts.self_roles() == before
    # The agents saw the wrong record and said so.
    seen = [i for i in range(6) if i != victim and
            f"redis-{victim}'s name leads to the agent of redis-{other}" in
            sts.agent_log_text(i)[log_start[i]:]]
    assert seen, "no agent reported the stale record"


def test_node_forgotten_by_every_peer_is_met_back_by_its_agent(sts_factory):
    """A node every other node has forgotten (an operator's FORGET, or an older agent's wrong
    decision) still knows its cluster: its agent MEETs the members of its own view back."""
    sts = sts_factory(pods=6, replicas=1, node_timeout=NODE_TIMEOUT)
    sts.up()
    sts.wait_healthy(timeout=60)
    orphan = 4
    orphan_id = my_id(sts, orphan)
    sts.stop_pod(orphan)
    for i in range(6):
        if i != orphan:
            sts.command(i, "CLUSTER", "FORGET", orphan_id)
    sts.start_pod(orphan)  # back with its own nodes.conf: it knows everybody, nobody knows it
    sts.wait_healthy(timeout=30)
    for i in range(6):
        assert orphan_id in ids_known_by(sts, i)
    assert "is unknown to" in sts.agent_log_text(orphan)


@pytest.mark.parametrize("foreign_agents", [True, False], ids=["foreign-agents", "no-agents"])
def test_empty_node_never_merges_our_cluster_into_a_foreign_one(sts_factory, foreign_agents):
    """Defect 2. A wiped pod's resolver sends redis-0's name to pod 0 of another formed cluster
    (another StatefulSet with the same short names, or plain Redis at a reused IP). The empty
    node joins only the cluster its own pods agree on; the foreign node is refused, logged and
    counted, and neither cluster learns the other's nodes."""
    ours = sts_factory(pods=6, replicas=1)
    ours.up()
    foreign = sts_factory(pods=6, replicas=1, with_agent=foreign_agents)
    foreign.up()
    if not foreign_agents:
        import subprocess
        subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"{p.ip}:6379" for p in foreign.pods], "--cluster-replicas", "1",
                        "--cluster-yes"], check=True, stdout=subprocess.DEVNULL)
    ours.wait_healthy(timeout=60)
    foreign.wait_healthy(timeout=60)
    client = ours.cluster_client()
    for k in range(200):
        client.set(f"ours:{k}", k)
    our_ids = {my_id(ours, i) for i in range(6)}
    foreign_ids = {my_id(foreign, i) for i in range(6)}

    wiped = 5
    ours.stop_pod(wiped)

    def misdirect(sts, i):  # pod i's own resolver only; every other pod resolves correctly
        rewrite_in_place(sts.hosts_path(i), hosts_with(sts, {0: foreign.pods[0].ip}))

    ours.start_pod(wiped, wipe=True, before_redis=misdirect)
    time.sleep(8)  # the merge of the issue took less than 5 s

    for i in range(6):
        assert not ids_known_by(ours, i) & foreign_ids, f"our redis-{i} knows a foreign node"
        assert not ids_known_by(foreign, i) & our_ids, f"foreign redis-{i} knows one of ours"
    assert [int(client.get(f"ours:{k}")) for k in range(200)] == list(range(200))
    client.close()
    assert "Refusing to introduce" in ours.agent_log_text(wiped)
    m = metrics(ours.pods[wiped].ip)
    assert m['redis_cluster_agent_errors_total{kind="foreign_node"}'] >= 1
    refusals = [l for l in ours.agent_log_text(wiped).splitlines() if "Refusing to introduce" in l]
    assert all("redis-0" in l for l in refusals), refusals

    # The joiner still joined its own cluster through the pods it could vouch for.
    ours.write_hosts()
    ours.wait_healthy(timeout=60)
    assert ours.role(wiped) == "slave"
    for i in range(6):
        assert not ids_known_by(foreign, i) & our_ids
