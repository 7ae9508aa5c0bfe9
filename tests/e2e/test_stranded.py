"""A scale-in done before draining (issue 13): `kubectl scale --replicas 6` on an 8-pod cluster
whose fourth shard (pods 6 and 7) owns slots. The agents of the remaining pods must say so
clearly (log, `status`, /metrics) and change nothing: no FORGET of the gone master, no
FAILOVER, no SETSLOT/ADDSLOTS of its slots, no RESET or FLUSH, checked with INFO commandstats
on every node; the scale verb refuses to run, with the same line. Scaled back, the pods return
with their data (new IPs, as a re-created pod gets) and the cluster recovers fully without
anybody acting: `redis-cli --cluster check` clean, `status` healthy, every key present."""
import os
import subprocess
import time

from agent_http import metrics
from localsts import REDIS_PORT, agent_binary
from scaling import (check_clean, check_keys, command_calls, destructive_since, load,
                     make_cluster, master_slots)
from wait import wait_for

PASSWORD = "stranded-e2e-Secret-4b1c"
KEYS = int(os.environ.get("RCA_STRANDED_KEYS", "5000"))
STRANDED = "redis_cluster_agent_stranded_slots"


def ordinals_learned(sts, i, n):
    """(True, _) once pod i's agent has recorded a node ID for each of the n ordinals."""
    try:
        with open(os.path.join(sts.data_dir(i), "nodes.ordinals")) as f:
            seen = {line.split()[2] for line in f if line.startswith("node ")}
    except FileNotFoundError:
        return False, "no nodes.ordinals yet"
    return seen >= {str(k) for k in range(n)}, sorted(seen)


def stranded_everywhere(sts, pods, slots):
    for i in pods:
        try:
            m = metrics(sts.pods[i].ip)
        except RuntimeError as e:  # the agent is not listening yet
            return False, str(e)
        if m.get(STRANDED) != slots:
            return False, f"redis-{i}: {m.get(STRANDED)}"
    return True, None


def rebalance(sts):
    """The migration engine (the hidden `rebalance` verb) from pod 0's address: (rc, output)."""
    r = subprocess.run([agent_binary(), "rebalance", "--seed", f"{sts.pods[0].ip}:{REDIS_PORT}",
                        "--password-file", sts.secret_path], capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout + r.stderr


def test_scale_in_before_draining_is_reported_and_undone_by_scaling_back(sts_factory):
    sts = sts_factory(pods=8, replicas=1, with_agent=False, password=PASSWORD, node_timeout=3000)
    # The cluster as a user grows it by hand: 3 shards, then pods 6 (master) and 7 (replica)
    # added and given a quarter of the slots; then the keys.
    new_id = make_cluster(sts, masters=3, new_masters=1)[0]
    rc, out = rebalance(sts)
    assert rc == 0, out
    slots = master_slots(sts)[new_id]
    assert slots >= 4000
    load(sts, KEYS)
    # Now every pod gets its agent (layout keeper off: no planned failover may blur the count).
    sts.with_agent = True
    sts.agent_args = ["--layout-keeper=off"]
    for i in range(8):
        sts.start_agent(i)
    for i in range(8):
        wait_for(f"redis-{i}'s agent knows every ordinal", lambda: ordinals_learned(sts, i, 8),
                 timeout=60)
    sts.wait_healthy(timeout=60)
    before = {i: command_calls(sts, i) for i in range(6)}

    # kubectl scale --replicas 6: the highest ordinal first, each through its preStop.
    sts.delete_pod(7)
    sts.delete_pod(6)
    wait_for("every remaining agent exports the stranded slots",
             lambda: stranded_everywhere(sts, range(6), slots), timeout=60)
    rc, status = sts.status(extra=[f"--nodes-conf={sts.data_dir(0)}/nodes.conf"])
    assert rc == 1, status
    assert [(s["pod"], s["slots"], s["scaleTo"]) for s in status["stranded"]] == \
        [("redis-6", slots, 8)], status["stranded"]
    assert "scale the StatefulSet back to 8 replicas" in status["problems"][0], status["problems"]
    m = metrics(sts.pods[0].ip)
    key = f'redis_cluster_agent_stranded_master_slots{{gone_pod="redis-6",node_id="{new_id}",' \
        'scale_to="8"}'
    assert m.get(key) == slots, sorted(k for k in m if "stranded" in k)
    for i in range(6):
        log = sts.agent_log_text(i)
        assert "Slots are stranded on a gone pod" in log and "redis-6" in log, log[-3000:]
        assert "no longer resolves" in log and "PVCs are retained" in log
    # The scale verb (a user's next try: `scale --to 6`) refuses with the same line and
    # moves nothing; the commandstats check below covers it too.
    rc, out = sts.scale_verb(6, 1, "--nodes-conf", f"{sts.data_dir(0)}/nodes.conf", timeout=60)
    assert rc == 1, out
    assert "scale: refused, nothing was changed" in out and "redis-6" in out, out
    assert "scale the StatefulSet back to 8 replicas" in out, out
    assert PASSWORD not in out
    # Give every agent time to do what it must not: each finishes passes for 2 x node-timeout
    # more (the healer's forced failover waits that long between attempts).
    since = time.time() + 2 * 3.0 + 1

    def passed_since():
        late = [i for i in range(6) if metrics(sts.pods[i].ip).get(
            "redis_cluster_agent_last_pass_timestamp_seconds", 0) < since]
        return not late, late
    wait_for("every agent passing 7 s after the report", passed_since, timeout=30, interval=0.5)
    for i in range(6):
        assert destructive_since(sts, i, before[i]) == {}, f"redis-{i}"
    assert master_slots(sts)[new_id] == slots  # nobody took the slots

    # kubectl scale --replicas 8: the pods come back with their volumes, on new IPs.
    sts.start_pods([6, 7], new_ip=True)
    wait_for("redis-cli --cluster check clean", lambda: check_clean(sts), timeout=90)
    sts.wait_healthy(timeout=60)
    wait_for("no agent reports stranded slots", lambda: stranded_everywhere(sts, range(8), 0),
             timeout=30)
    assert check_keys(sts, KEYS) == []
    for i in range(6):
        assert destructive_since(sts, i, before[i]) == {}, f"redis-{i}"
    for i in (6, 7):
        assert destructive_since(sts, i, {}) == {}, f"redis-{i}"
    assert "No slots are stranded on gone pods any more" in sts.agent_log_text(0)
