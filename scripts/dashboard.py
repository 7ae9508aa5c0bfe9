#!/usr/bin/python3
"""Generates the Grafana dashboard for the agent's metrics (docs/metrics.md).

Writes charts/redis-cluster-agent/files/dashboard.json; with --check, fails when the committed
file differs from what this script writes (CI runs that), so edit this script, not the JSON.
Usage: scripts/dashboard.py [--check]
"""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "charts", "redis-cluster-agent", "files", "dashboard.json")
SEL = 'namespace=~"$namespace", job=~"$job"'
DS = {"type": "prometheus", "uid": "${datasource}"}


def m(name, extra=""):
    """A metric selector restricted to the chosen namespace and job."""
    labels = SEL + (", " + extra if extra else "")
    return f"redis_cluster_agent_{name}{{{labels}}}"


class Layout:
    """Places panels left to right in lines 24 grid units wide; a row header starts a line."""

    def __init__(self):
        self.panels, self.x, self.y, self.line_h, self.next_id = [], 0, 0, 0, 1

    def row(self, title):
        self._newline()
        self._place({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self._newline()

    def panel(self, kind, title, targets, w, h, desc, **extra):
        p = {"type": kind, "title": title, "description": desc, "datasource": DS,
             "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": lf, "datasource": DS}
                         for i, (e, lf) in enumerate(targets)]}
        p.update(extra)
        self._place(p, w, h)

    def _newline(self):
        if self.x > 0:
            self.x, self.y, self.line_h = 0, self.y + self.line_h, 0

    def _place(self, p, w, h):
        if self.x + w > 24:
            self._newline()
        p["id"] = self.next_id
        p["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.next_id += 1
        self.panels.append(p)
        self.x += w
        self.line_h = max(self.line_h, h)


def stat(layout, title, expr, desc, unit="none", thresholds=None, mappings=None):
    steps = thresholds or [{"color": "green", "value": None}]
    layout.panel("stat", title, [(expr, "")], 4, 4, desc,
                 fieldConfig={"defaults": {"unit": unit, "mappings": mappings or [],
                                           "thresholds": {"mode": "absolute", "steps": steps}},
                              "overrides": []},
                 options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"})


def series(layout, title, targets, desc, unit="none", w=12):
    layout.panel("timeseries", title, targets, w, 8, desc,
                 fieldConfig={"defaults": {"unit": unit}, "overrides": []},
                 options={"legend": {"displayMode": "table", "placement": "right"}})


def cluster_row(l):
    l.row("Cluster")
    red_green = [{"color": "red", "value": None}, {"color": "green", "value": 1}]
    stat(l, "Cluster state", f"min({m('cluster_state')})",
         "cluster_state in the worst node's view (1 = ok)", thresholds=red_green,
         mappings=[{"type": "value", "options": {"0": {"text": "fail"}, "1": {"text": "ok"}}}])
    stat(l, "Slots ok", f"min({m('cluster_slots_ok')})", "Fewest slots ok in any node's view",
         thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 16384}])
    stat(l, "Masters", f"max({m('cluster_size')})", "Masters that own slots")
    stat(l, "Healthy nodes", f"max({m('cluster_healthy_nodes')})",
         "Nodes linked and without failure flags, in the best node's view")
    stat(l, "Shards without replica", f"min({m('cluster_masters_without_replicas')})",
         "Masters with no working replica in every node's view",
         thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
    stat(l, "Ready pods", f"sum({m('ready')})", "Pods whose /readyz passes")
    series(l, "Slots by state", [
        (f"min({m('cluster_slots_ok')})", "ok (fewest)"),
        (f"max({m('cluster_slots_pfail')})", "pfail (most)"),
        (f"max({m('cluster_slots_fail')})", "fail (most)"),
        (f"min({m('cluster_slots_assigned')})", "assigned (fewest)")],
        "CLUSTER INFO slot counters over all nodes' views")
    series(l, "Nodes by flag", [(f"max by (flag) ({m('cluster_nodes_flagged')})", "{{flag}}")],
           "Most nodes any view flags fail, pfail, noaddr, handshake or disconnected")


def pods_row(l):
    l.row("Pods")
    series(l, "Slots per pod", [(f"{m('node_slots')}", "{{instance}}")],
           "Slots each node owns (replicas own none)")
    series(l, "Masters", [(m("node_role", 'role="master"'), "{{instance}}")],
           "1 while the pod's node is a master")
    series(l, "Replication lag", [(f"{m('replication_lag_bytes')}", "{{instance}}")],
           "Bytes each replica is behind its master", unit="bytes")
    series(l, "Replication link and sync", [
        (f"{m('replication_link_up')}", "link up {{instance}}"),
        (f"{m('replication_sync_in_progress')}", "syncing {{instance}}")],
        "Replicas: link to the master up, full sync running")
    series(l, "Loading", [(f"{m('redis_loading_progress_ratio')}", "{{instance}}")],
           "Share of the dataset loaded, while Redis loads", unit="percentunit")
    series(l, "Failing readiness checks",
           [(f"{m('readiness_check')} == 0", "{{instance}} {{check}}")],
           "Readiness checks (/readyz?verbose) that fail, per pod")


def moves_row(l):
    l.row("Slot moves")
    series(l, "Open slots", [
        (f"sum by (instance, direction) ({m('node_open_slots')}) > 0",
         "{{instance}} {{direction}}")],
        "Slots each node has MIGRATING or IMPORTING: a move in progress; one open for long is "
        "a move left open (alert RedisClusterSlotMigrationStalled)")
    series(l, "Keys per pod", [(f"{m('node_keys')}", "{{instance}}")],
           "Keys in each node (DBSIZE): with Slots per pod, where the data goes while slots move")
    series(l, "Slots stranded on gone pods", [
        (f"max({m('stranded_slots')})", "stranded (most)"),
        (f"max by (gone_pod, scale_to) ({m('stranded_master_slots')})",
         "{{gone_pod}} (scale back to {{scale_to}})")],
        "Slots owned by failed masters whose pods are gone with no replica to take over: a "
        "scale-in before draining (alert RedisClusterSlotsStranded)", w=24)
    series(l, "Scale progress", [
        (f"max({m('scale_slots_to_move')})", "slots to move"),
        (f"max({m('scale_slots_moved')})", "slots moved"),
        (f"max({m('scale_eta_seconds')})", "ETA (s)"),
        (f"max({m('shape_masters')})", "masters in the shape")],
        "How far the slots are from the shape the agents follow (cluster.nodes, "
        "cluster.replicas): slots the scale verb still has to move, moved so far, and the "
        "seconds left at its average rate")
    series(l, "Keys arriving at importing nodes", [
        (f"sum(clamp_min(deriv({m('node_keys')}[1m]), 0) and on (instance) "
         f"({m('node_open_slots')}{{direction=\"importing\"}} > 0))", "keys/s")],
        "Keys per second gained by the nodes that are importing slots: the speed of a scale's "
        "data move (client writes to those nodes count too)")


def agent_row(l):
    l.row("Agent")
    series(l, "Actions", [(f"sum by (action) (increase({m('actions_total')}[$__rate_interval]))",
                           "{{action}}")],
           "Cluster-changing commands the agents sent, and nodes.conf rewrites by prepare")
    series(l, "Errors", [(f"sum by (kind) (increase({m('errors_total')}[$__rate_interval]))",
                          "{{kind}}")], "Failures the agents met, by kind")
    series(l, "Phase", [(f"{m('phase')} == 1", "{{instance}} {{phase}}")],
           "What each agent is busy with")
    series(l, "Loop pass duration", [(f"{m('pass_duration_seconds')}", "{{instance}}")],
           "How long each agent's last pass over Redis and its peers took", unit="s")
    series(l, "nodes.conf changes", [
        (f"sum by (instance) (increase({m('nodes_conf_changes_total')}[$__rate_interval]))",
         "{{instance}}")], "Changes the inotify watcher reported (each wakes the loop)")
    series(l, "Redis up", [(f"{m('redis_up')}", "{{instance}}")],
           "The local Redis answered the agent's last pass")


def variable(name, query):
    return {"name": name, "type": "query", "datasource": DS, "refresh": 2, "includeAll": True,
            "multi": True, "query": {"query": query, "refId": name}, "definition": query,
            "current": {"text": "All", "value": "$__all"}}


def dashboard():
    l = Layout()
    cluster_row(l)
    pods_row(l)
    moves_row(l)
    agent_row(l)
    datasource = {"name": "datasource", "type": "datasource", "query": "prometheus",
                  "current": {}, "hide": 0}
    return {
        "title": "Redis Cluster (redis-cluster-agent)", "uid": "redis-cluster-agent",
        "description": "Metrics of redis-cluster-agent, one agent per Redis Cluster pod",
        "tags": ["redis", "redis-cluster"], "timezone": "browser", "editable": True,
        "schemaVersion": 38, "version": 1, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            datasource,
            variable("namespace", "label_values(redis_cluster_agent_build_info, namespace)"),
            variable("job", 'label_values(redis_cluster_agent_build_info{namespace=~"$namespace"}, '
                            'job)')]},
        "panels": l.panels,
    }


def main():
    text = json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"
    if "--check" in sys.argv[1:]:
        with open(OUT) as f:
            if f.read() != text:
                print(f"{OUT} is out of date: run scripts/dashboard.py", file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
