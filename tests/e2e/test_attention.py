"""Issue 17: each agent watches its own Redis and looks at a peer only when something is amiss.

Two things the attention model (cluster/attention.h) promises, on real Redis and real agents:
- a change only gossip reveals (a peer's node goes away: every link to it drops) gets the
  agents' attention at their next pass, long before any sweep, and the attention ends once the
  node is back;
- the slow sweep finds what the local view cannot show: a pod name that now resolves elsewhere
  while gossip still shows every node healthy. An agent whose sweep is not due never notices.
Assertions are on the agents' counters and gauges (/metrics), not on log wording.
"""
import signal
import time

from agent_http import metrics
from wait import wait_for
from hosts import rewrite_in_place

P = "redis_cluster_agent_"
NO_SWEEP = "--sweep-interval=60m"  # far beyond any test: only the local view can draw a look
PASS_SLACK_S = 2.0  # one poll interval (1 s) plus a loaded, sanitized agent's pass


def metric(sts, i, name):
    return metrics(sts.pods[i].ip)[P + name]


def probes(sts, ordinals):
    return {i: metric(sts, i, "peer_probes_total") for i in ordinals}


def wait_quiet(sts, ordinals, quiet_s=2.0, timeout=40):
    """Until no agent in `ordinals` watches a pod and none probed one for `quiet_s`."""
    def quiet():
        if any(metric(sts, i, "peers_watched") for i in ordinals):
            return False
        before = probes(sts, ordinals)
        time.sleep(quiet_s)
        return probes(sts, ordinals) == before
    wait_for("every agent to stop looking at its peers", quiet, timeout, interval=0.2)


def links_healthy(sts, i):
    """Pod i's Redis shows every node linked and without a failure flag."""
    for w in sts.cluster_nodes(i):
        flags = w[2].split(",")
        if w[7] != "connected" or {"fail", "fail?", "noaddr", "handshake"} & set(flags):
            return False
    return True


def test_a_peer_whose_links_drop_is_looked_at_within_a_pass_and_no_longer_once_back(sts_factory):
    """Replica redis-4's Redis is SIGKILLed (its agent keeps running): every node's links to it
    drop, which only gossip shows. With no sweep due for an hour, every other agent looks at
    pod 4 within a pass of the drop, keeps looking while it stays away, and stops once it is
    back."""
    sts = sts_factory(pods=6, replicas=1, agent_args=[NO_SWEEP])
    sts.up()
    sts.wait_healthy(timeout=60)
    victim, others = 4, [0, 1, 2, 3, 5]
    assert sts.role(victim) == "slave"
    wait_quiet(sts, others)
    base = probes(sts, others)

    sts.pods[victim].redis.stop(signal.SIGKILL)
    t0 = time.monotonic()
    first = {}

    def all_looked():
        for i in others:
            if i not in first and metric(sts, i, "peer_probes_total") > base[i]:
                assert metric(sts, i, "peers_watched") >= 1
                first[i] = time.monotonic() - t0
        return len(first) == len(others)
    wait_for("every agent to look at pod 4", all_looked, 15, interval=0.05)
    assert max(first.values()) <= 1.0 + PASS_SLACK_S, f"seconds to the first look: {first}"

    # Still away: looked at again and again (backoff 200 ms .. 1 s), not once and forgotten.
    seen = probes(sts, others)
    time.sleep(3)
    again = probes(sts, others)
    assert all(again[i] - seen[i] >= 2 for i in others), f"{seen} -> {again}"

    sts.stop_pod(victim)
    sts.start_pod(victim)
    sts.wait_healthy(timeout=60)
    wait_quiet(sts, others)


def test_the_sweep_finds_a_stale_name_the_local_view_cannot_show(sts_factory):
    """redis-3's name starts to resolve to pod 2's address in the resolvers of pods 5 and 1
    (a stale or wrong record); every node stays linked and healthy, so no local view shows it.
    Pod 5's agent sweeps every 2 s (+-20%) and reports the conflict; pod 1's, with no sweep due,
    never notices. Nothing is met, forgotten or failed over. With the record fixed, the next
    sweep clears the conflict."""
    sweeper, blind, named, target = 5, 1, 3, 2
    sts = sts_factory(pods=6, replicas=1, node_timeout=15000)
    for i in range(6):
        sts.pod_agent_args[i] = ["--sweep-interval=2s" if i == sweeper else NO_SWEEP]
    sts.up()
    sts.wait_healthy(timeout=60)
    wait_quiet(sts, [blind])
    acted = {i: metric_sum(sts, i, "actions_total") for i in (sweeper, blind)}
    lookups = metric(sts, sweeper, "peer_dns_lookups_total")
    for i in (sweeper, blind):
        assert metric(sts, i, "peer_identity_conflicts") == 0

    stale = stale_hosts(sts, named, sts.pods[target].ip)
    for i in (sweeper, blind):
        rewrite_in_place(sts.hosts_path(i), stale)
    t0 = time.monotonic()
    wait_for("the sweeping agent to report the stale name",
             lambda: metric(sts, sweeper, "peer_identity_conflicts") == 1, 2.4 + PASS_SLACK_S + 2)
    spent = time.monotonic() - t0
    assert metric(sts, sweeper, "peer_dns_lookups_total") - lookups >= 5  # a sweep: every name
    time.sleep(max(0.0, 6 - spent))
    # Gossip shows nothing: both nodes' views are healthy; the blind agent looked at nobody.
    assert links_healthy(sts, sweeper) and links_healthy(sts, blind)
    assert metric(sts, blind, "peer_identity_conflicts") == 0
    assert metric(sts, blind, "peers_watched") == 0
    for i in (sweeper, blind):
        assert metric_sum(sts, i, "actions_total") == acted[i], f"redis-{i} changed the cluster"

    sts.write_hosts()
    wait_for("the next sweep to clear the conflict",
             lambda: metric(sts, sweeper, "peer_identity_conflicts") == 0, 2.4 + PASS_SLACK_S + 2)
    ok, out = sts.healthy()
    assert ok, out


def metric_sum(sts, i, name):
    """The sum of every series of a labelled counter (e.g. actions_total by action)."""
    return sum(v for k, v in metrics(sts.pods[i].ip).items() if k.startswith(P + name + "{"))


def stale_hosts(sts, ordinal, ip):
    """The StatefulSet's hosts file with pod `ordinal`'s name pointing at `ip`."""
    lines = ["127.0.0.1 localhost"]
    for p in sts.pods:
        addr = ip if p.ordinal == ordinal else p.ip
        lines.append(f"{addr} {p.dns_name} {p.name}")
    return "\n".join(lines) + "\n"
