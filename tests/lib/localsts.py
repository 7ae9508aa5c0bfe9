#!/usr/bin/python3
"""The local StatefulSet: Redis Cluster "pods" on loopback, for tests, benchmarks and the demo.

A pod is a redis-server (the Debian package) plus a redis-cluster-agent, both bound to the
pod's own 127.x address (`bind` + `bind-source-addr`, so every node really has that IP), with a
data dir that outlives the pod (the PVC) and a runtime dir that does not (an emptyDir). Pod names
resolve through the system resolver: every agent runs in its own mount namespace
(`unshare --mount`) with a private /etc/hosts that this module keeps current, like the headless
Service with publishNotReadyAddresses does in Kubernetes.

Every process is started in its own session, recorded by pid (and start time, so a reused pid is
never signalled) in <root>/state.json, and stopped by pid - also when a test fails.

Pod deletion follows the kubelet: `delete_pod` runs the redis container's preStop (the handover
client the agent installs in the runtime dir), then SIGTERM; the agent, a native sidecar, is
stopped after Redis exits, or - as a classic sidecar - gets SIGTERM when the preStop starts.
`rollout_restart` is `kubectl rollout restart`: highest ordinal first, delete, start on a new
address, wait until ready, next.

With `tls=<dir>` (a directory holding ca.crt, tls.crt, tls.key, e.g. made by tests/lib/certs.py)
the pods speak TLS only: every Redis has `port 0` and its TLS port at 6379 (clients, cluster bus,
replication), every agent runs with --tls=on, and each pod mounts its own copy of the files the
way the kubelet mounts a Secret (`..data` symlink; `install_tls` swaps it like a Secret update).

The server is Debian's redis-server unless `server=` (or RCA_SERVER, tests/lib/servers.py) says
valkey; `pod_servers` overrides it for single pods.

The parts live in their own modules: processes (procs.py), names (hosts.py), a pod's files and
command lines (podconfig.py), termination (kubelet.py), clients and checks (checks.py), silent
addresses (nft.py), the CLI (localsts_cli.py). This module puts them together.

Library: `with LocalStatefulSet(root, pods=6) as sts: sts.up(); sts.wait_healthy()`.
CLI: `scripts/local-sts up|status|down|stop|kill|start|restart|delete|prestop|rollout-restart|check`
(see --help).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hosts as hosts_file  # noqa: E402
import servers  # noqa: E402
from checks import Checks, raw_command  # noqa: E402
from kubelet import Kubelet, PreStop  # noqa: E402
from nft import Silencer  # noqa: E402
from podconfig import HTTP_PORT, REDIS_PORT, TEMPLATE, PodConfig, agent_binary  # noqa: E402
from procs import Process  # noqa: E402

__all__ = ["DEFAULT_ROOT", "HTTP_PORT", "REDIS_PORT", "TEMPLATE", "LocalStatefulSet", "Pod",
           "PreStop", "Process", "agent_binary", "raw_command"]

DEFAULT_ROOT = "/tmp/redis-cluster-agent-local"


class Pod:
    def __init__(self, ordinal, ip, gen, k8s_node):
        self.ordinal, self.ip, self.gen, self.k8s_node = ordinal, ip, gen, k8s_node
        self.redis = None
        self.agent = None
        self.running = False  # has an address in "DNS"

    @property
    def name(self):
        return f"redis-{self.ordinal}"

    @property
    def dns_name(self):
        return TEMPLATE.format(ordinal=self.ordinal)

    def to_json(self):
        return {"ordinal": self.ordinal, "ip": self.ip, "gen": self.gen, "k8s_node": self.k8s_node,
                "running": self.running,
                "redis": self.redis.to_json() if self.redis else None,
                "agent": self.agent.to_json() if self.agent else None}

    @classmethod
    def from_json(cls, d):
        p = cls(d["ordinal"], d["ip"], d["gen"], d["k8s_node"])
        p.running = d["running"]
        p.redis = Process.from_json(d["redis"])
        p.agent = Process.from_json(d["agent"])
        return p


class _LateRecords(threading.Thread):
    """Calls `publish` once prepare (logging to `log_path`) says it waits for peer names and
    `delay` seconds have passed, or after `give_up` seconds (below prepare's 5 s DNS wait),
    whichever comes first; cancel() stops it."""

    WAITING = b"Waiting for peer names to resolve"

    def __init__(self, log_path, delay, publish, give_up=4.0):
        super().__init__(daemon=True)
        self.log_path, self.delay, self.publish, self.give_up = log_path, delay, publish, give_up
        self.offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        self.halt = threading.Event()

    def _prepare_waits(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.offset)
                return self.WAITING in f.read()
        except FileNotFoundError:
            return False

    def run(self):
        t0 = time.monotonic()
        while not self.halt.wait(0.02):
            elapsed = time.monotonic() - t0
            if (elapsed >= self.delay and self._prepare_waits()) or elapsed >= self.give_up:
                self.publish()
                return

    def cancel(self):
        self.halt.set()


class LocalStatefulSet(PodConfig, Kubelet, Checks):
    def __init__(self, root=DEFAULT_ROOT, pods=6, replicas=1, node_timeout=5000, net="127.77",
                 password=None, with_agent=True, k8s_nodes=3, agent_args=(), redis_conf=(),
                 poll_interval="1s", log_format="text", appendonly=True, runtime=None, tls=None,
                 server=None):
        self.root = os.path.abspath(root)
        self.size = pods
        self.replicas = replicas
        self.node_timeout = node_timeout
        self.net = net
        self.password = password
        self.with_agent = with_agent
        self.agent_args = list(agent_args)
        self.redis_conf = list(redis_conf)
        self.poll_interval = poll_interval
        self.log_format = log_format
        self.appendonly = appendonly
        self.k8s_nodes = k8s_nodes
        self.tls = os.path.abspath(tls) if tls else None
        self.pods = [Pod(i, self._ip(i, 0), 0, f"knode-{i % k8s_nodes}") for i in range(pods)]
        # Pods whose agent sees an empty /etc/hosts at prepare time (names do not resolve yet).
        self.prepare_without_dns = set()  # prepare sees no peer name (and does not wait)
        self.prepare_late_dns = {}  # ordinal -> seconds until prepare sees the peer names
        # Extra `run` flags for single pods (ordinal -> list), e.g. fault injection on pod 0.
        self.pod_agent_args = {}
        # The server of single pods (ordinal -> "redis" | "valkey"), read at each start: a pod
        # restarted after a change runs the other server on the same data (an image change in a
        # rolling update). Default: the StatefulSet's server.
        self.pod_servers = {}
        self.server = server if isinstance(server, servers.Server) else servers.server(server)
        # How a pod's containers run. None: the build's agent and redis-server as host processes,
        # configured by this module. Otherwise an object with init_containers(sts, i),
        # start_redis(sts, i) and start_agent(sts, i) (both return a Process) and cleanup(sts),
        # e.g. tests/packaging/chartpod.py's ChartRuntime (the chart's own pod spec). Not saved
        # in state.json: the CLI always uses the default.
        self.runtime = runtime
        self.silencer = Silencer(net)

    # ----- persistence (the CLI runs one command per process) -----

    @property
    def state_path(self):
        return os.path.join(self.root, "state.json")

    def save(self):
        os.makedirs(self.root, exist_ok=True)
        state = {k: getattr(self, k) for k in (
            "size", "replicas", "node_timeout", "net", "password", "with_agent", "agent_args",
            "redis_conf", "poll_interval", "log_format", "appendonly", "tls")}
        state["server"] = self.server.name
        state["pods"] = [p.to_json() for p in self.pods]
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.state_path)

    @classmethod
    def load(cls, root=DEFAULT_ROOT):
        with open(os.path.join(root, "state.json")) as f:
            state = json.load(f)
        sts = cls(root, pods=state["size"], replicas=state["replicas"],
                  node_timeout=state["node_timeout"], net=state["net"],
                  password=state["password"], with_agent=state["with_agent"],
                  agent_args=state["agent_args"], redis_conf=state["redis_conf"],
                  poll_interval=state["poll_interval"], log_format=state["log_format"],
                  appendonly=state["appendonly"], tls=state.get("tls"),
                  server=state.get("server"))
        sts.pods = [Pod.from_json(p) for p in state["pods"]]
        return sts

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()

    # ----- name resolution -----

    def _hosts_text(self, overrides=None):
        """The records every pod sees (a hook: the tutorial's StatefulSet publishes others);
        `overrides` ({ordinal: ip}) points some names elsewhere (stale or reused records)."""
        return hosts_file.hosts_text(self.pods, overrides)

    def stale_records(self, overrides, ordinals):
        """Pods `ordinals` resolve some names elsewhere ({ordinal: ip}) until the next
        write_hosts()."""
        for i in ordinals:
            hosts_file.rewrite_in_place(self.hosts_path(i), self._hosts_text(overrides))

    def write_hosts(self):
        text = self._hosts_text()
        hosts_file.rewrite_in_place(self.hosts_path(), text)
        for p in self.pods:
            os.makedirs(self.pod_dir(p.ordinal), exist_ok=True)
            hosts_file.rewrite_in_place(self.hosts_path(p.ordinal), text)

    # ----- pods -----

    def _prepare(self, i):
        if self.runtime:
            self.runtime.init_containers(self, i)
            return
        if not self.with_agent:
            with open(os.path.join(self.run_dir(i), "redis-agent.conf"), "w") as f:
                if self.password is not None:
                    f.write(f'requirepass "{self.password}"\nmasterauth "{self.password}"\n')
            return
        hosts = self.hosts_path(i)
        argv = self.prepare_argv(i)
        timer = None
        if i in self.prepare_without_dns or i in self.prepare_late_dns:
            hosts = os.path.join(self.pod_dir(i), "hosts.prepare")
            with open(hosts, "w") as f:
                f.write("127.0.0.1 localhost\n")
        if i in self.prepare_without_dns:
            argv.append("--dns-wait=0")
        elif i in self.prepare_late_dns:
            # The records appear while prepare runs, as when all pods restart together: once
            # prepare has looked and missed them (and at least the given delay later), so that
            # a slow start of prepare cannot find them already there.
            timer = _LateRecords(self.agent_log(i), self.prepare_late_dns[i],
                                 lambda: hosts_file.rewrite_in_place(hosts, self._hosts_text()))
            timer.start()
        with open(self.agent_log(i), "ab") as log:
            rc = subprocess.run(hosts_file.in_namespace(hosts, argv), stdout=log,
                                stderr=subprocess.STDOUT, env=self.agent_env()).returncode
        if timer:
            timer.cancel()
        if rc != 0:
            raise RuntimeError(f"prepare failed on {self.pods[i].name} (rc={rc}); see "
                               f"{self.agent_log(i)}")

    def _assign(self, i, new_ip=False, wipe=False, ip=None):
        p = self.pods[i]
        if p.redis and p.redis.alive():
            raise RuntimeError(f"{p.name} is already running")
        if ip is not None:
            p.ip = ip
        elif new_ip:
            p.gen += 1
            p.ip = self._ip(i, p.gen)
        if wipe:
            shutil.rmtree(self.data_dir(i), ignore_errors=True)
        shutil.rmtree(self.run_dir(i), ignore_errors=True)
        os.makedirs(self.data_dir(i), exist_ok=True)
        os.makedirs(self.run_dir(i), exist_ok=True)
        self._ensure_tls(i)
        p.running = True

    def _launch(self, i, agent=True, wait=True, before_redis=None):
        p = self.pods[i]
        self._prepare(i)
        if before_redis:
            before_redis(self, i)
        if self.runtime:
            p.redis = self.runtime.start_redis(self, i)
        else:
            with open(self._redis_conf_path(i), "w") as f:
                f.write(self._redis_conf_text(i))
            p.redis = self._spawn_redis(i)
        if agent and self.with_agent:
            p.agent = self._spawn_agent(i)
        self.save()
        if wait:
            self.wait_redis(i)

    def _redis_conf_path(self, i):
        return os.path.join(self.pod_dir(i), "redis.conf")

    def _spawn_redis(self, i):
        binary = self.pod_server(i).binary
        return Process.spawn([binary, self._redis_conf_path(i)], self.redis_log(i) + ".out")

    def start_pod(self, i, new_ip=False, wipe=False, agent=True, wait=True, before_redis=None):
        """Creates pod i (like the StatefulSet controller): runtime dir, DNS record, prepare,
        redis-server, agent. new_ip moves it to a fresh address; wipe loses its PVC."""
        self._write_secret()
        self._ensure_shape()
        self._assign(i, new_ip, wipe)
        self.write_hosts()
        self._mount_secrets([i])
        self._launch(i, agent, wait, before_redis)

    def start_pods(self, ordinals, new_ip=False, wipe=False, delay=None, wait=True, ips=None,
                   **kw):
        """Creates several pods at once (podManagementPolicy: Parallel): every pod gets its IP
        and DNS record first, then the containers start one after another. `ips` gives some
        pods a chosen address (e.g. another pod's old one)."""
        self._write_secret()
        self._ensure_shape()
        ordinals = list(ordinals)
        for i in ordinals:
            self._assign(i, new_ip, wipe, (ips or {}).get(i))
        self.write_hosts()
        self._mount_secrets(ordinals)
        for i in ordinals:
            if delay:
                time.sleep(delay())
            self._launch(i, wait=False, **kw)
        if wait:
            for i in ordinals:
                self.wait_redis(i)

    def _spawn_agent(self, i):
        if self.runtime:
            return self.runtime.start_agent(self, i)
        argv = hosts_file.in_namespace(self.hosts_path(i), self.agent_argv(i))
        return Process.spawn(argv, self.agent_log(i), env=self.agent_env())

    def start_agent(self, i):
        self.pods[i].agent = self._spawn_agent(i)
        self.save()

    def stop_agent(self, i, sig=signal.SIGTERM):
        p = self.pods[i]
        if p.agent:
            p.agent.stop(sig)
        self.save()

    def stop_pod(self, i, sig=signal.SIGTERM, timeout=20.0):
        """Deletes pod i: SIGTERM to redis, then to the agent (a native sidecar stops last);
        the pod's DNS record goes away. The data dir stays."""
        p = self.pods[i]
        if p.redis:
            p.redis.stop(sig, timeout)
        if p.agent:
            p.agent.stop(sig if sig != signal.SIGKILL else signal.SIGKILL, timeout)
        p.running = False
        self.write_hosts()
        self.save()

    def kill_pod(self, i):
        self.stop_pod(i, signal.SIGKILL)

    def restart_pod(self, i, new_ip=True, wipe=False, **kw):
        self.stop_pod(i)
        self.start_pod(i, new_ip=new_ip, wipe=wipe, **kw)

    def scale(self, n):
        """Changes the StatefulSet's replica count, like `kubectl scale`: the shape file stays
        (scale_cluster changes both, like helm). New pods are created by start_pod; pods beyond
        n must be stopped first. Agents started later get --cluster-nodes=n, which a readable
        shape file overrides."""
        for p in self.pods[n:]:
            if p.redis and p.redis.alive():
                raise RuntimeError(f"stop {p.name} before scaling in")
        del self.pods[n:]
        while len(self.pods) < n:
            i = len(self.pods)
            self.pods.append(Pod(i, self._ip(i, 0), 0, f"knode-{i % self.k8s_nodes}"))
        self.size = n
        self.write_hosts()
        self.save()

    def scale_argv(self, n, replicas, *extra):
        """`redis-cluster-agent scale` as `kubectl exec redis-0 -- ...` runs it."""
        argv = [agent_binary(), "scale", "--to", str(n), "--replicas", str(replicas),
                "--seed", f"{self.pods[0].ip}:{REDIS_PORT}", "--agent-port", str(HTTP_PORT)]
        if self.password is not None:
            argv += ["--password-file", self.secret_path]
        if self.tls:
            self._ensure_tls(None)
            argv += self._tls_flags() + [f"--peer-host-template={self.status_template()}"]
        return argv + list(extra)

    def scale_verb(self, n, replicas, *extra, timeout=600):
        """Runs the scale verb: (exit code, output)."""
        # The verb's own bound first, so that it reports what it waited for.
        argv = self.scale_argv(n, replicas, "--timeout", str(max(1, int(timeout) - 15)), *extra)
        if self.tls:  # the pods' DNS names, which the TLS name checks resolve
            argv = hosts_file.in_namespace(self.hosts_path(), argv)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def scale_cluster(self, n, replicas=None, timeout=600, on_step=None):
        """Scales the cluster to n pods (and `replicas` per master) in helm's order. Out: the
        shape file, the new pods, the verb (it waits for their roles, then rebalances). In: the
        shape file, the verb with --drain-only, the leaving pods stopped and removed (their data
        dirs kept, like retained PVCs), the verb again (it forgets their nodes). Returns the
        verbs' output; raises when a verb fails."""
        replicas = self.replicas if replicas is None else replicas
        step = on_step or (lambda what: None)
        out = ""
        old = self.size
        self.write_shape(n, replicas)
        step("shape written")
        if n > old:
            self.scale(n)
            self.replicas = replicas
            self.start_pods(range(old, n))
            step("pods started")
        else:
            rc, text = self.scale_verb(n, replicas, "--drain-only", timeout=timeout)
            out += text
            if rc != 0:
                raise RuntimeError(f"scale --to {n} --drain-only failed ({rc}):\n{text}")
            step("drained")
            for i in range(n, old):
                self.stop_pod(i)
            self.scale(n)
            self.replicas = replicas
            step("pods removed")
        rc, text = self.scale_verb(n, replicas, timeout=timeout)
        out += text
        self.save()
        if rc != 0:
            raise RuntimeError(f"scale --to {n} failed ({rc}):\n{text}")
        return out

    def up(self, order=None, delay=None, wait=True, **kw):
        """Creates every pod; order/delay let tests shuffle the start."""
        os.makedirs(self.root, exist_ok=True)
        self.start_pods(list(order if order is not None else range(self.size)), delay=delay,
                        wait=wait, **kw)

    def silence(self, ip):
        """Drops every packet sent to `ip` (nft.py): connects to it time out instead of being
        refused."""
        self.silencer.silence(ip)

    def isolate(self, ip):
        """Drops every packet to and from `ip` (nft.py): the pod stays up, but nobody reaches
        it and it reaches nobody, not even its own address (a network partition of one pod)."""
        self.silencer.isolate(ip)

    def down(self):
        self.silencer.clear()
        for p in self.pods:
            for proc in (p.agent, p.redis):
                if proc:
                    proc.send(signal.SIGKILL)
        for p in self.pods:
            for proc in (p.agent, p.redis):
                if proc:
                    proc.wait(5)
            p.running = False
        if self.runtime:
            self.runtime.cleanup(self)
        if os.path.isdir(self.root):
            self.save()


if __name__ == "__main__":
    from localsts_cli import main
    sys.exit(main(sys.argv[1:]))
