"""Issue 2's end-to-end case: every node of a 3-node cluster moves to a new IP at once.

The classic sed trick fixes only the `myself` line, so nobody can reach anybody and the cluster
never heals. Here `run` relearns the node-ID -> ordinal map (deleted first), then every pod is
stopped and started on a new address; `prepare` rewrites myself and all peers before Redis
starts, and the cluster comes back with every node at its new address.
"""
import os

from wait import wait_for


def test_every_node_on_a_new_ip_rejoins(sts_factory):
    sts = sts_factory(pods=3, replicas=0)
    sts.up()
    sts.wait_healthy(timeout=60)
    maps = [os.path.join(sts.data_dir(i), "nodes.ordinals") for i in range(3)]
    for path in maps:
        os.remove(path)
    wait_for("run rebuilding the node-ID -> ordinal map",
             lambda: all(os.path.exists(p) and
                         len([l for l in open(p) if not l.startswith("#")]) == 3 for p in maps), 20)

    old_ips = [p.ip for p in sts.pods]
    for i in range(3):
        sts.stop_pod(i)
    sts.start_pods(range(3), new_ip=True)
    new_ips = [p.ip for p in sts.pods]
    assert not set(old_ips) & set(new_ips)
    for i in range(3):
        log = sts.agent_log_text(i)
        assert log.count("Rewriting node address") == 3, log

    sts.wait_healthy(timeout=30)
    for i in range(3):
        nodes = sts.command(i, "CLUSTER", "NODES")
        hosts = sorted(l.split()[1].split("@")[0].rsplit(":", 1)[0] for l in nodes.splitlines())
        assert hosts == sorted(new_ips), nodes
        assert "cluster_state:ok" in sts.command(i, "CLUSTER", "INFO")
