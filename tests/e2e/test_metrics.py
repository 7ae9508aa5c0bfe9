"""Metrics end to end: a real Prometheus (Debian package) scrapes every agent of the local
StatefulSet, the shipped alert rules run on what it scraped, and a nodes.conf change reaches
/metrics at once, not at the next poll."""
import os
import re
import subprocess

import yaml

import agent_http
from prom import Prometheus
from wait import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(REPO, "charts", "redis-cluster-agent", "files")
P = "redis_cluster_agent_"


def short_rules(path):
    """The shipped rules with every `for:` cut to 2 s: this test checks the expressions on real
    data; the durations are covered by promtool test rules (tests/alerts)."""
    with open(os.path.join(FILES, "alerts.yaml")) as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    with open(path, "w") as f:
        yaml.safe_dump(rules, f)
    return path


def names_used():
    """Every redis_cluster_agent_* name the alert rules and the dashboard query."""
    text = open(os.path.join(FILES, "alerts.yaml")).read()
    text += open(os.path.join(FILES, "dashboard.json")).read()
    return set(re.findall(P + r"[a-z_]+", text))


def role(sts, i):
    return sts.command(i, "ROLE")[0].decode()


def test_prometheus_scrapes_every_agent_and_alerts(sts_factory, tmp_path):
    sts = sts_factory(pods=6, replicas=1, node_timeout=3000)
    sts.up()
    sts.wait_healthy(timeout=60)
    prom = Prometheus(str(tmp_path / "prometheus"), f"{sts.net}.0.200:9090",
                      [f"{p.ip}:9839" for p in sts.pods],
                      rule_files=[short_rules(str(tmp_path / "alerts.yaml"))])
    with prom:
        prom.wait_for("every agent scraped",
                      lambda: prom.scalar('count(up{job="redis-cluster-agent"} == 1)') == 6)
        # Each agent's view reaches Prometheus at its own scrape: wait until every scrape
        # carries the formed cluster.
        prom.wait_for("16384 slots", lambda: prom.scalar(f"sum({P}node_slots)") == 16384)
        prom.wait_for("3 masters",
                      lambda: prom.scalar(f'count({P}node_role{{role="master"}} == 1)') == 3)
        prom.wait_for("every agent seeing 3 shards",
                      lambda: prom.scalar(f"min({P}cluster_size)") == 3)
        prom.wait_for("every agent seeing all slots ok",
                      lambda: prom.scalar(f"min({P}cluster_slots_ok)") == 16384)
        assert prom.scalar(f"max({P}cluster_size)") == 3
        prom.wait_for("every pod ready", lambda: prom.scalar(f"sum({P}ready)") == 6)
        # Exported only with --tls=on; test_tls.py reads them from a TLS cluster's agents.
        tls_only = {f"{P}tls_certificate_expiry_timestamp_seconds"}
        # One series per open slot or stranded master, only while there is one; the rate and
        # ETA of a scale only while one runs: test_stranded.py, test_migrate.py and
        # test_scale.py read them.
        only_while = {f"{P}node_open_slot", f"{P}stranded_master_slots",
                      f"{P}scale_slots_per_second", f"{P}scale_eta_seconds"}
        missing = names_used() - set(prom.api("label/__name__/values")) - tls_only - only_while
        assert not missing, f"alerts/dashboard use metrics no agent exports: {missing}"
        assert not prom.firing("RedisClusterDown")

        # Lose a whole shard: its slots have no master left.
        master = next(i for i in range(6) if role(sts, i) == "master")
        replica = sts.replica_of(master)
        sts.kill_pod(master)
        sts.kill_pod(replica)
        prom.wait_for("RedisClusterDown firing", lambda: prom.firing("RedisClusterDown"))
        assert prom.scalar(f"max({P}cluster_slots_fail)") > 0

        # Bring the shard back on the same addresses: the alert clears.
        sts.start_pods([master, replica])
        prom.wait_for("RedisClusterDown resolved", lambda: not prom.firing("RedisClusterDown"),
                      timeout=90)
        sts.wait_healthy(timeout=60)


def test_live_metrics_pass_promtool_and_count_prepare_rewrites(sts_factory):
    password = "pw-Do-Not-Leak-7"
    sts = sts_factory(pods=6, replicas=1, password=password)
    sts.up()
    sts.wait_healthy(timeout=60)
    for p in sts.pods:
        status, body = agent_http.get(p.ip, "/metrics")
        assert status == 200
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True)
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
        for path in ("/metrics", "/readyz?verbose", "/livez?verbose", "/startupz?verbose", "/"):
            assert password not in agent_http.get(p.ip, path)[1], path
    rewrites = P + 'actions_total{action="nodes_conf_rewrite"}'
    assert agent_http.metrics(sts.pods[5].ip)[rewrites] == 0
    # On a new IP, prepare (its own process, before Redis) rewrites the myself line; the agent
    # reads prepare's record and counts it.
    sts.restart_pod(5, new_ip=True)
    def counted():
        status, _ = agent_http.get(sts.pods[5].ip, "/metrics")
        m = agent_http.metrics(sts.pods[5].ip) if status == 200 else {}
        return m.get(rewrites) == 1, m
    m = wait_for("prepare's rewrite counted by the agent", counted, 15)
    assert m[P + "prepare_addresses_rewritten_total"] >= 1


def test_nodes_conf_change_reaches_metrics_at_once(sts_factory):
    """With a 30 s poll interval only the nodes.conf watcher can make a failover show within
    seconds: Redis rewrites nodes.conf when roles change, and that wakes every agent's loop."""
    sts = sts_factory(pods=6, replicas=1, poll_interval="30s")
    sts.up()
    sts.wait_healthy(timeout=60)
    master = next(i for i in range(6) if role(sts, i) == "master")
    replica = sts.replica_of(master)
    key = P + 'node_role{role="master"}'

    def roles():
        return (agent_http.metrics(sts.pods[master].ip)[key],
                agent_http.metrics(sts.pods[replica].ip)[key])

    wait_for("the agents publishing the formed cluster", lambda: (roles() == (1, 0), roles()), 40)
    changes = agent_http.metrics(sts.pods[replica].ip)[P + "nodes_conf_changes_total"]
    assert agent_http.metrics(sts.pods[replica].ip)[P + "nodes_conf_watch_active"] == 1

    sts.command(replica, "CLUSTER", "FAILOVER")
    wait_for("the failover in the metrics", lambda: (roles() == (0, 1), roles()), 3, 0.05)
    assert agent_http.metrics(sts.pods[replica].ip)[P + "nodes_conf_changes_total"] > changes
