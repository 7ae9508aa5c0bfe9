"""The migration engine on real Redis (issue 13's foundation): slots moved to a new, empty
master with `redis-cluster-agent rebalance` while the hit-counter writer runs, then
`redis-cli --cluster check` clean, every loaded key present with its value, the masters even,
no acknowledged write lost; and a run killed once a slot is open, finished by the next run."""
import os
import subprocess

from agent_http import metrics
from localsts import REDIS_PORT, agent_binary
from scaling import (StoppedVerb, balanced, check_clean, check_keys, load, make_cluster,
                     master_slots, no_open_slots, open_slots_of)
from wait import wait_for
from writer import CounterWriter

PASSWORD = "migrate-e2e-Secret-7f3a"
KEYS = int(os.environ.get("RCA_MIGRATE_KEYS", "20000"))


def rebalance_argv(sts, *extra):
    return [agent_binary(), "rebalance", "--seed", f"{sts.pods[0].ip}:{REDIS_PORT}",
            "--password-file", sts.secret_path, *extra]


def run_rebalance(sts, *extra, timeout=600):
    r = subprocess.run(rebalance_argv(sts, *extra), capture_output=True, text=True,
                       timeout=timeout)
    out = r.stdout + r.stderr
    assert PASSWORD not in out, "the password leaked into the engine's output"
    return r.returncode, out


def open_slot_gauges(sts, i):
    """{direction: count} of pod i's agent's node_open_slots gauges that are not 0 (None while
    the agent does not answer)."""
    try:
        m = metrics(sts.pods[i].ip)
    except RuntimeError:
        return None
    return {d: m[f'redis_cluster_agent_node_open_slots{{direction="{d}"}}']
            for d in ("migrating", "importing")
            if m.get(f'redis_cluster_agent_node_open_slots{{direction="{d}"}}')}


def four_masters(sts_factory):
    """3 masters + replicas from redis-cli --cluster create, and an empty 4th shard."""
    sts = sts_factory(pods=8, replicas=1, with_agent=False, password=PASSWORD)
    new_ids = make_cluster(sts, masters=3, new_masters=1)
    assert master_slots(sts)[new_ids[0]] == 0
    return sts, new_ids[0]


def test_rebalance_fills_a_new_master_under_writes(sts_factory):
    sts, new_id = four_masters(sts_factory)
    load(sts, KEYS)
    writer = CounterWriter(sts).start()
    try:
        rc, out = run_rebalance(sts)
    finally:
        writer.stop()
    assert rc == 0, out
    assert "100% 4096/4096 slots" in out, out
    clean, check = check_clean(sts)
    assert clean, check
    ok, counts = balanced(sts)
    assert ok and counts[new_id] >= 4096 - 40, counts
    assert sts.command(6, "DBSIZE") > 0  # the keys moved with their slots
    assert check_keys(sts, KEYS) == []
    assert writer.check_counters() == [], writer.report()
    # Nothing left to do: a second run plans no move and changes nothing.
    rc, out = run_rebalance(sts)
    assert rc == 0 and "slots_to_move=0" in out, out


def test_a_killed_rebalance_is_finished_by_the_next_run(sts_factory):
    sts, _ = four_masters(sts_factory)
    load(sts, KEYS // 4)
    # The verb stops itself (SIGSTOP) once the first slot is IMPORTING on the target and
    # MIGRATING on the source, and is killed there.
    verb = StoppedVerb(rebalance_argv(sts), "after-open", sts.root, timeout=90)
    verb.kill()
    assert PASSWORD not in verb.output()
    assert not no_open_slots(sts)[0]
    clean, check = check_clean(sts)
    assert not clean and "migrating" in check.lower(), check
    # The agents of the two nodes (observe mode: they must not finish the move themselves)
    # export the open slot, by direction, and `status` lists it.
    opened = {p.ordinal: open_slots_of(sts, p.ordinal) for p in sts.pods
              if open_slots_of(sts, p.ordinal)}
    for i in opened:
        sts.pod_agent_args[i] = ["--mode=observe"]
        sts.start_agent(i)
    for i, markers in opened.items():
        want = {d: float(sum(sep in m for m in markers))
                for d, sep in (("migrating", "->-"), ("importing", "-<-"))
                if any(sep in m for m in markers)}

        def exported():
            got = open_slot_gauges(sts, i)
            return got == want, (got, want)
        wait_for(f"redis-{i}'s agent exporting its open slots", exported, timeout=30)
    status = sts.status(json_output=False)[1]
    assert "Open slots" in status and "migrating" in status and "importing" in status, status

    rc, out = run_rebalance(sts)
    assert rc == 0, out
    assert "Finishing a slot move an earlier run left open" in out, out
    assert no_open_slots(sts) == (True, None)
    for i in opened:
        wait_for(f"redis-{i}'s agent exporting no open slot",
                 lambda: open_slot_gauges(sts, i) == {}, timeout=30)
    clean, check = check_clean(sts)
    assert clean, check
    assert balanced(sts)[0], master_slots(sts)
    assert check_keys(sts, KEYS // 4) == []
