"""Clients of a local StatefulSet's Redis and the checks tests make on it: roles, views,
`redis-cluster-agent status` (the one definition of healthy), `redis-cli --cluster check`.

A mixin of LocalStatefulSet (tests/lib/localsts.py)."""
import json
import os
import subprocess
import time

import hosts as hosts_file
from podconfig import REDIS_PORT, TEMPLATE, agent_binary
from wait import wait_for

MIXED_SERVERS = "the pods run different servers"


def raw_command(client, *args):
    """One command through a redis-py client with the reply unparsed (redis-py turns CLUSTER
    NODES and INFO into dicts); bulk strings come back as str."""
    conn = client.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        reply = conn.read_response()
    finally:
        client.connection_pool.release(conn)
    return reply.decode() if isinstance(reply, bytes) else reply


class Checks:
    def redis(self, i, **kw):
        import redis as redispy
        kw = {**self.tls_client_kwargs(), **kw}
        return redispy.Redis(host=self.pods[i].ip, port=REDIS_PORT, password=self.password,
                             socket_timeout=kw.pop("socket_timeout", 2),
                             socket_connect_timeout=kw.pop("socket_connect_timeout", 2), **kw)

    def command(self, i, *args):
        """One command on pod i's Redis, the reply unparsed (redis-py parses CLUSTER NODES and
        INFO into dicts); bulk strings come back as str."""
        client = self.redis(i)
        try:
            return raw_command(client, *args)
        finally:
            client.close()

    def cluster_client(self, **kw):
        import redis as redispy
        from redis.cluster import ClusterNode
        nodes = [ClusterNode(p.ip, REDIS_PORT) for p in self.pods if p.running]
        return redispy.RedisCluster(startup_nodes=nodes, password=self.password,
                                    **{**self.tls_client_kwargs(), **kw})

    def role(self, i):
        """'master' or 'slave' from INFO replication, None when pod i does not answer."""
        import redis as redispy
        try:
            return self.redis(i, socket_timeout=1).info("replication")["role"]
        except redispy.exceptions.RedisError:
            return None

    def cluster_nodes(self, i):
        """Pod i's CLUSTER NODES, each line split into its fields."""
        return [line.split() for line in self.command(i, "CLUSTER", "NODES").splitlines()]

    def self_roles(self):
        """node ID -> (role, config epoch), as each running node states it about itself."""
        out = {}
        for p in self.pods:
            if p.running:
                me = next(n for n in self.cluster_nodes(p.ordinal) if "myself" in n[2])
                out[me[0]] = ("master" if "master" in me[2] else "slave", me[6])
        return out

    def replica_of(self, master):
        """Ordinal of the running pod whose Redis replicates pod `master`'s node."""
        my_id = self.command(master, "CLUSTER", "MYID")
        for p in self.pods:
            if p.ordinal != master and p.running:
                me = next(n for n in self.cluster_nodes(p.ordinal) if "myself" in n[2])
                if me[3] == my_id:
                    return p.ordinal
        raise AssertionError(f"redis-{master} has no replica")

    def wait_redis(self, i, timeout=30):
        """Until pod i's server answers (or says it is loading); fails at once if it exited."""
        import redis as redispy

        def answers():
            if not self.pods[i].redis.alive():
                raise RuntimeError(f"{self.server.binary} of {self.pods[i].name} exited; see "
                                   f"{self.redis_log(i)}")
            try:
                return self.redis(i, socket_timeout=0.5).ping()
            except redispy.exceptions.BusyLoadingError:
                return True
            except redispy.exceptions.ResponseError as e:
                if "LOADING" in str(e):
                    return True
                raise
            except (redispy.exceptions.ConnectionError, redispy.exceptions.TimeoutError):
                return False  # not listening yet, or a TLS handshake slower than 0.5 s
        wait_for(f"{self.pods[i].name} answering", answers, timeout, interval=0.02)

    def status_template(self):
        """The peer host template the pods' agents run with: `status` must name the same
        StatefulSet, or it reports every pod's agent as another StatefulSet's."""
        return TEMPLATE

    def status(self, json_output=True, extra=()):
        """Runs `redis-cluster-agent status`, the one definition of healthy. Returns (rc, out)."""
        p = next((p for p in self.pods if p.running), self.pods[0])
        argv = [agent_binary(), "status", f"--cluster-nodes={self.size}",
                f"--cluster-replicas={self.replicas}",
                f"--peer-host-template={self.status_template()}",
                f"--redis-addr={p.ip}:{REDIS_PORT}", "--redis-timeout=500ms"] + \
            self._tls_flags() + list(extra)
        self._ensure_tls(None)
        if json_output:
            argv.append("--json")
        if self.password is not None:
            argv.append(f"--redis-password-file={self.secret_path}")
        r = subprocess.run(hosts_file.in_namespace(self.hosts_path(), argv), capture_output=True,
                           text=True, env=self.agent_env())
        if json_output and r.returncode in (0, 1):
            return r.returncode, json.loads(r.stdout)
        return r.returncode, r.stdout + r.stderr

    def healthy(self):
        rc, out = self.status()
        return rc == 0, out

    def wait_healthy(self, timeout=60, interval=0.05):
        """Until `status` says healthy; returns its JSON."""
        def healthy():
            ok, out = self.healthy()
            return ok, (out if ok or not isinstance(out, dict) else out.get("problems"))
        return wait_for("the cluster healthy", healthy, timeout, interval)

    def wait_ready(self, timeout=60, interval=0.1):
        """Healthy per `status` and no warnings, i.e. every replica's replication link is up
        too: a rollout must not take the next master down before its replica is in sync (the
        handover needs one). Returns status' JSON."""
        def ready():
            ok, out = self.healthy()
            if not isinstance(out, dict):
                return False, out
            # Mixed servers are a state a rolling update to another server passes through.
            warnings = [w for w in out.get("warnings", []) if MIXED_SERVERS not in w]
            if ok and not warnings:
                return True, out
            return False, out.get("problems") or warnings
        return wait_for("the cluster ready", ready, timeout, interval)

    def time_to_healthy(self, t0, timeout, interval=0.05):
        """For benchmarks: (converged, healthy) in seconds after t0 (time.monotonic()), None for
        what did not happen within timeout. Converged is healthy but for masters still holding
        cluster_state at fail (Redis' start-up and rejoin delays, which nobody can shorten)."""
        converged = None
        while time.monotonic() - t0 < timeout:
            ok, out = self.healthy()
            now = time.monotonic() - t0
            if converged is None and all("reports cluster_state fail" in p
                                         for p in out["problems"]):
                converged = now
            if ok:
                return converged, now
            time.sleep(interval)
        return converged, None

    def cluster_check(self):
        """`redis-cli --cluster check` (valkey-cli on Valkey) from the first running pod's
        address: (rc, output)."""
        p = next(p for p in self.pods if p.running)
        argv = [self.server.cli] + self.redis_cli_tls_args() + ["--cluster", "check",
                                                            f"{p.ip}:{REDIS_PORT}"]
        env = dict(os.environ)
        if self.password is not None:
            env["REDISCLI_AUTH"] = self.password
        r = subprocess.run(argv, capture_output=True, text=True, env=env)
        return r.returncode, r.stdout + r.stderr

    def agent_log_text(self, i):
        try:
            with open(self.agent_log(i), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""
