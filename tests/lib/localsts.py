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

Library: `with LocalStatefulSet(root, pods=6) as sts: sts.up(); sts.wait_healthy()`.
CLI: `scripts/local-sts up|status|down|stop|kill|start|restart|delete|prestop|rollout-restart|check`
(see --help).
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_AGENT = os.path.join(REPO, "build", "agent", "redis-cluster-agent")
DEFAULT_ROOT = "/tmp/redis-cluster-agent-local"
TEMPLATE = "redis-{ordinal}.redis-headless.default.svc.cluster.local"
HTTP_PORT = 9839
REDIS_PORT = 6379


# The servers a pod can run (LocalStatefulSet.pod_servers); valkey-server is Debian
# bookworm-backports' 8.0.1 (scripts/install-deps.sh).
SERVER_BINARIES = {"redis": "redis-server", "valkey": "valkey-server"}


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


def agent_binary():
    return os.environ.get("RCA_AGENT_BIN", DEFAULT_AGENT)


def _proc_start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid, start_time):
    if not pid:
        return False
    st = _proc_start_time(pid)
    if st is None or st != start_time:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Process:
    """A child process known by pid and start time (so a recycled pid is never signalled)."""

    def __init__(self, pid, start_time, popen=None):
        self.pid, self.start_time, self.popen = pid, start_time, popen

    @classmethod
    def spawn(cls, argv, log_path, env=None):
        log = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env)
        log.close()
        return cls(p.pid, _proc_start_time(p.pid), p)

    def alive(self):
        if self.popen is not None and self.popen.poll() is not None:
            return False
        return _alive(self.pid, self.start_time)

    def send(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None:
                try:
                    self.popen.wait(timeout=0.02)
                    return True
                except subprocess.TimeoutExpired:
                    continue
            if not self.alive():
                return True
            time.sleep(0.02)
        return not self.alive()

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        self.send(sig)
        if not self.wait(timeout):
            self.send(signal.SIGKILL)
            self.wait(5)

    def to_json(self):
        return {"pid": self.pid, "start_time": self.start_time}

    @classmethod
    def from_json(cls, d):
        return cls(d["pid"], d["start_time"]) if d else None


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


class PreStop:
    """What a preStop hook run returned: rc None when the kubelet had to kill it."""

    def __init__(self, ordinal, rc, output, seconds):
        self.ordinal, self.rc, self.output, self.seconds = ordinal, rc, output, seconds

    @property
    def outcome(self):
        """'done', 'skipped' or 'failed' from the client's final line."""
        for word in ("done", "skipped", "failed"):
            if f"handover: {word}:" in self.output:
                return word
        return "failed"

    def __repr__(self):
        return f"PreStop(redis-{self.ordinal}, rc={self.rc}, {self.seconds:.3f}s, {self.output!r})"


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


class LocalStatefulSet:
    def __init__(self, root=DEFAULT_ROOT, pods=6, replicas=1, node_timeout=5000, net="127.77",
                 password=None, with_agent=True, k8s_nodes=3, agent_args=(), redis_conf=(),
                 poll_interval="1s", log_format="text", appendonly=True, runtime=None, tls=None):
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
        # The server binary of single pods (ordinal -> "redis" | "valkey"), read at each start:
        # a pod restarted after a change runs the other server on the same data (an image
        # change in a rolling update). Default: Debian's redis-server.
        self.pod_servers = {}
        # How a pod's containers run. None: the build's agent and redis-server as host processes,
        # configured by this module. Otherwise an object with init_containers(sts, i),
        # start_redis(sts, i) and start_agent(sts, i) (both return a Process) and cleanup(sts),
        # e.g. tests/packaging/chartpod.py's ChartRuntime (the chart's own pod spec). Not saved
        # in state.json: the CLI always uses the default.
        self.runtime = runtime

    # ----- persistence (the CLI runs one command per process) -----

    @property
    def state_path(self):
        return os.path.join(self.root, "state.json")

    def save(self):
        os.makedirs(self.root, exist_ok=True)
        state = {k: getattr(self, k) for k in (
            "size", "replicas", "node_timeout", "net", "password", "with_agent", "agent_args",
            "redis_conf", "poll_interval", "log_format", "appendonly", "tls")}
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
                  appendonly=state["appendonly"], tls=state.get("tls"))
        sts.pods = [Pod.from_json(p) for p in state["pods"]]
        return sts

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()

    # ----- layout -----

    def _ip(self, ordinal, gen):
        return f"{self.net}.{gen}.{10 + ordinal}"

    def pod_dir(self, i):
        return os.path.join(self.root, "pods", f"redis-{i}")

    def data_dir(self, i):
        return os.path.join(self.pod_dir(i), "data")

    def run_dir(self, i):
        return os.path.join(self.pod_dir(i), "run")

    def hosts_path(self, i=None):
        return os.path.join(self.root, "hosts") if i is None else os.path.join(self.pod_dir(i), "hosts")

    def agent_log(self, i):
        return os.path.join(self.pod_dir(i), "agent.log")

    def redis_log(self, i):
        return os.path.join(self.pod_dir(i), "redis.log")

    def tls_dir(self, i=None):
        """The mounted TLS Secret of pod i (the clients' own copy with i=None)."""
        return os.path.join(self.root, "tls") if i is None else os.path.join(self.pod_dir(i), "tls")

    def tls_file(self, name, i=None):
        return os.path.join(self.tls_dir(i), name)

    @property
    def secret_path(self):
        return os.path.join(self.root, "redis-password")

    def secret_mount(self, i):
        """Pod i's Secret volume, laid out like the kubelet's (atomic_writer.go): the visible
        file is a symlink through `..data`, which points at a hidden timestamped directory."""
        return os.path.join(self.pod_dir(i), "secret")

    def pod_secret_path(self, i):
        return os.path.join(self.secret_mount(i), "redis-password")

    def mount_secret(self, i, password=None):
        """Updates pod i's Secret volume the way the kubelet does: the new contents in a fresh
        directory, a new symlink renamed over `..data`, the old directory removed."""
        password = self.password if password is None else password
        mount = self.secret_mount(i)
        os.makedirs(mount, exist_ok=True)
        stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
        os.makedirs(os.path.join(mount, stamp), mode=0o755)
        fd = os.open(os.path.join(mount, stamp, "redis-password"), os.O_WRONLY | os.O_CREAT,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        data = os.path.join(mount, "..data")
        old = os.readlink(data) if os.path.islink(data) else None
        os.symlink(stamp, os.path.join(mount, "..data_tmp"))
        os.rename(os.path.join(mount, "..data_tmp"), data)
        visible = self.pod_secret_path(i)
        if not os.path.islink(visible):
            os.symlink("..data/redis-password", visible)
        if old:
            shutil.rmtree(os.path.join(mount, old), ignore_errors=True)

    # ----- name resolution -----

    def _hosts_text(self, overrides=None):
        """The hosts file; `overrides` ({ordinal: ip}) points some names elsewhere (a stale or
        reused record), also of pods that are not running."""
        overrides = overrides or {}
        lines = ["127.0.0.1 localhost"]
        for p in self.pods:
            if p.ordinal in overrides:
                lines.append(f"{overrides[p.ordinal]} {p.dns_name} {p.name}")
            elif p.running:
                lines.append(f"{p.ip} {p.dns_name} {p.name}")
        return "\n".join(lines) + "\n"

    def stale_records(self, overrides, ordinals):
        """Pods `ordinals` resolve some names elsewhere ({ordinal: ip}) until the next
        write_hosts()."""
        for i in ordinals:
            self._rewrite_in_place(self.hosts_path(i), self._hosts_text(overrides))

    @staticmethod
    def _rewrite_in_place(path, text):
        # The file is bind-mounted over /etc/hosts in the agents' mount namespaces: replacing it
        # by rename would leave them on the old inode. One write of the padded text; never a
        # moment when the file is empty.
        old = os.path.getsize(path) if os.path.exists(path) else 0
        data = text.encode()
        if len(data) < old:
            data += b"\n" * (old - len(data))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def write_hosts(self):
        text = self._hosts_text()
        self._rewrite_in_place(self.hosts_path(), text)
        for p in self.pods:
            os.makedirs(self.pod_dir(p.ordinal), exist_ok=True)
            self._rewrite_in_place(self.hosts_path(p.ordinal), text)

    def _in_namespace(self, hosts, argv):
        return ["unshare", "--mount", "--", "/bin/sh", "-c",
                'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + argv

    # ----- pods -----

    # ----- TLS: the files as a Secret volume holds them -----

    def install_tls(self, src, i=None):
        """Puts ca.crt, tls.crt and tls.key from `src` into pod i's Secret volume (i=None: the
        clients' copy) the way the kubelet updates a Secret: a new timestamped directory, then
        one rename of the `..data` symlink; the file names are symlinks through `..data`."""
        d = self.tls_dir(i)
        os.makedirs(d, exist_ok=True)
        stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
        os.makedirs(os.path.join(d, stamp), mode=0o755)
        for name in ("ca.crt", "tls.crt", "tls.key"):
            shutil.copyfile(os.path.join(src, name), os.path.join(d, stamp, name))
        tmp = os.path.join(d, "..data_tmp")
        os.symlink(stamp, tmp)
        old = os.path.realpath(os.path.join(d, "..data")) if os.path.lexists(
            os.path.join(d, "..data")) else None
        os.replace(tmp, os.path.join(d, "..data"))
        for name in ("ca.crt", "tls.crt", "tls.key"):
            if not os.path.lexists(os.path.join(d, name)):
                os.symlink(os.path.join("..data", name), os.path.join(d, name))
        if old:
            shutil.rmtree(old, ignore_errors=True)

    def _ensure_tls(self, i):
        if self.tls and not os.path.exists(self.tls_file("tls.crt", i)):
            self.install_tls(self.tls, i)

    def _tls_flags(self, i=None):
        if not self.tls:
            return []
        return ["--tls=on", f"--tls-ca-file={self.tls_file('ca.crt', i)}",
                f"--tls-cert-file={self.tls_file('tls.crt', i)}",
                f"--tls-key-file={self.tls_file('tls.key', i)}"]

    def _tls_conf(self, i):
        if not self.tls:
            return [f"port {REDIS_PORT}"]
        return ["port 0", f"tls-port {REDIS_PORT}", "tls-cluster yes", "tls-replication yes",
                f"tls-cert-file {self.tls_file('tls.crt', i)}",
                f"tls-key-file {self.tls_file('tls.key', i)}",
                f"tls-ca-cert-file {self.tls_file('ca.crt', i)}"]

    def tls_client_kwargs(self):
        """redis-py arguments for a client with the clients' copy of the files."""
        if not self.tls:
            return {}
        self._ensure_tls(None)
        return {"ssl": True, "ssl_ca_certs": self.tls_file("ca.crt"),
                "ssl_certfile": self.tls_file("tls.crt"), "ssl_keyfile": self.tls_file("tls.key"),
                "ssl_check_hostname": False}

    def redis_cli_tls_args(self):
        if not self.tls:
            return []
        self._ensure_tls(None)
        return ["--tls", "--cacert", self.tls_file("ca.crt"), "--cert", self.tls_file("tls.crt"),
                "--key", self.tls_file("tls.key")]

    # ----- pods -----

    def _redis_conf_text(self, i):
        p = self.pods[i]
        lines = [
            f"bind {p.ip}", f"bind-source-addr {p.ip}"] + self._tls_conf(i) + [
            "cluster-enabled yes", f"cluster-config-file {self.data_dir(i)}/nodes.conf",
            f"cluster-node-timeout {self.node_timeout}", "cluster-require-full-coverage no",
            "cluster-migration-barrier 1", f"appendonly {'yes' if self.appendonly else 'no'}",
            "save \"\"" if not self.appendonly else "", f"dir {self.data_dir(i)}",
            "protected-mode no", "daemonize no", f"logfile {self.redis_log(i)}",
            f"include {self.run_dir(i)}/redis-agent.conf",
        ] + self.redis_conf
        return "\n".join(l for l in lines if l) + "\n"

    def _common_flags(self, i):
        p = self.pods[i]
        flags = [f"--pod-name={p.name}", f"--redis-addr={p.ip}:{REDIS_PORT}",
                 f"--cluster-nodes={self.size}", f"--peer-host-template={TEMPLATE}",
                 f"--log-format={self.log_format}"] + self._tls_flags(i)
        if self.password is not None:
            flags.append(f"--redis-password-file={self.pod_secret_path(i)}")
        return flags

    def agent_argv(self, i):
        p = self.pods[i]
        return [agent_binary(), "run"] + self._common_flags(i) + [
            f"--pod-ip={p.ip}", f"--node-name={p.k8s_node}",
            f"--nodes-conf={self.data_dir(i)}/nodes.conf", f"--cluster-replicas={self.replicas}",
            f"--http-addr={p.ip}:{HTTP_PORT}", f"--runtime-dir={self.run_dir(i)}",
            f"--poll-interval={self.poll_interval}",
            f"--include-file={self.run_dir(i)}/redis-agent.conf"] + self.agent_args + \
            self.pod_agent_args.get(i, [])

    def prepare_argv(self, i):
        p = self.pods[i]
        return [agent_binary(), "prepare"] + self._common_flags(i) + [
            f"--pod-ip={p.ip}", f"--nodes-conf={self.data_dir(i)}/nodes.conf",
            f"--include-file={self.run_dir(i)}/redis-agent.conf"]

    @staticmethod
    def agent_env():
        # A clean environment: AGENT_* variables of the caller must not leak into the agents.
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

    def _write_secret(self):
        if self.password is None:
            return
        fd = os.open(self.secret_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")

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
                                 lambda: self._rewrite_in_place(hosts, self._hosts_text()))
            timer.start()
        with open(self.agent_log(i), "ab") as log:
            rc = subprocess.run(self._in_namespace(hosts, argv), stdout=log,
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
        binary = SERVER_BINARIES[self.pod_servers.get(i, "redis")]
        return Process.spawn([binary, self._redis_conf_path(i)], self.redis_log(i) + ".out")

    def restart_container(self, i, which, sig=signal.SIGKILL, away=0.0):
        """The kubelet restarting one container of pod i in place ("redis" or "agent"): the
        process gets `sig` (SIGKILL: it crashed), and `away` seconds after its exit the same
        container starts again, same address, same runtime dir; no init container runs."""
        p = self.pods[i]
        proc = p.redis if which == "redis" else p.agent
        if proc:
            proc.stop(sig)
        if away:
            time.sleep(away)
        if which == "redis":
            p.redis = self._spawn_redis(i)
        else:
            p.agent = self._spawn_agent(i)
        self.save()

    def start_pod(self, i, new_ip=False, wipe=False, agent=True, wait=True, before_redis=None):
        """Creates pod i (like the StatefulSet controller): runtime dir, DNS record, prepare,
        redis-server, agent. new_ip moves it to a fresh address; wipe loses its PVC."""
        self._write_secret()
        self._assign(i, new_ip, wipe)
        self.write_hosts()
        self._mount_secrets([i])
        self._launch(i, agent, wait, before_redis)

    def _mount_secrets(self, ordinals):
        if self.password is None:
            return
        for i in ordinals:
            if not os.path.exists(self.pod_secret_path(i)):
                self.mount_secret(i)

    def start_pods(self, ordinals, new_ip=False, wipe=False, delay=None, wait=True, ips=None,
                   **kw):
        """Creates several pods at once (podManagementPolicy: Parallel): every pod gets its IP
        and DNS record first, then the containers start one after another. `ips` gives some
        pods a chosen address (e.g. another pod's old one)."""
        self._write_secret()
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
        argv = self._in_namespace(self.hosts_path(i), self.agent_argv(i))
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

    # ----- termination the way the kubelet does it -----

    def prestop_argv(self, i, timeout="20s"):
        """The redis container's preStop exec: the static client the agent installed in the
        runtime dir (the emptyDir both containers mount)."""
        return [os.path.join(self.run_dir(i), "handover"), f"--runtime-dir={self.run_dir(i)}",
                f"--timeout={timeout}"]

    def prestop(self, i, timeout="20s", limit=60.0):
        """Runs pod i's preStop hook; the kubelet kills it after `limit` seconds."""
        t0 = time.monotonic()
        try:
            r = subprocess.run(self.prestop_argv(i, timeout), capture_output=True, text=True,
                               env=self.agent_env(), timeout=limit)
            rc, out = r.returncode, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            rc, out = None, f"{e.stdout or ''}{e.stderr or ''}preStop killed after {limit}s"
        except OSError as e:
            rc, out = 127, f"preStop could not run: {e}"
        return PreStop(i, rc, out, time.monotonic() - t0)

    def delete_pod(self, i, prestop=True, sidecar="native", grace=60.0, handover_timeout="20s",
                   after_prestop=None):
        """`kubectl delete pod` with terminationGracePeriodSeconds=grace: the preStop of the redis
        container (unless prestop=False, the tutorial's plain SIGTERM), then SIGTERM to redis.
        sidecar="native": the agent is stopped after redis has exited; "classic": the agent gets
        SIGTERM as the preStop starts. after_prestop(sts, i, result) runs between the preStop
        and redis' SIGTERM. Whatever still runs at the end of the grace period gets SIGKILL.
        Returns the PreStop result (None without preStop)."""
        p = self.pods[i]
        deadline = time.monotonic() + grace
        left = lambda: max(0.1, deadline - time.monotonic())  # noqa: E731
        if sidecar == "classic" and p.agent:
            p.agent.send(signal.SIGTERM)
        result = self.prestop(i, handover_timeout, left()) if prestop else None
        if after_prestop:
            after_prestop(self, i, result)
        if p.redis:
            p.redis.stop(signal.SIGTERM, left())
        if p.agent:
            p.agent.stop(signal.SIGTERM, left())
        p.running = False
        self.write_hosts()
        self.save()
        return result

    def rollout_restart(self, prestop=True, sidecar="native", new_ip=True, away=0.0,
                        ready_timeout=120, on_pod=None):
        """`kubectl rollout restart` of the StatefulSet: from the highest ordinal down, delete
        the pod (delete_pod), wait `away` seconds (the time Kubernetes takes to schedule the new
        pod and attach its volume), start it (on a new address unless new_ip=False) and wait
        until the cluster is ready again before the next pod. Returns one record per pod."""
        records = []
        for i in reversed(range(self.size)):
            role = self.role(i)
            t0 = time.monotonic()
            pre = self.delete_pod(i, prestop=prestop, sidecar=sidecar)
            t_stopped = time.monotonic()
            if away:
                time.sleep(away)
            self.start_pod(i, new_ip=new_ip)
            self.wait_ready(timeout=ready_timeout)
            rec = {"ordinal": i, "role": role, "prestop": pre, "stop_s": t_stopped - t0,
                   "total_s": time.monotonic() - t0, "ip": self.pods[i].ip}
            records.append(rec)
            if on_pod:
                on_pod(rec)
        return records

    @staticmethod
    def roll_report(title, records, writer):
        """What a rollout_restart under a CounterWriter did, as lines to print: each pod's
        preStop outcome and time, then the writer's report."""
        lines = [title]
        for rec in records:
            pre = rec["prestop"]
            lines.append(f"  redis-{rec['ordinal']} ({rec['role']}): preStop {pre.outcome} "
                         f"in {pre.seconds:.3f}s")
        return lines + ["  " + line for line in writer.report()]

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

    def restart_pod(self, i, new_ip=True, wipe=False, **kw):
        self.stop_pod(i)
        self.start_pod(i, new_ip=new_ip, wipe=wipe, **kw)

    def scale(self, n):
        """Changes the StatefulSet's replica count. New pods are created by start_pod; pods
        beyond n must be stopped first. Agents started later get --cluster-nodes=n."""
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

    def up(self, order=None, delay=None, wait=True, **kw):
        """Creates every pod; order/delay let tests shuffle the start."""
        os.makedirs(self.root, exist_ok=True)
        self.start_pods(list(order if order is not None else range(self.size)), delay=delay,
                        wait=wait, **kw)

    # ----- a dead pod's address goes silent (no RST), like a deleted pod's IP in Kubernetes -----

    @property
    def _nft_table(self):
        return "rca_" + self.net.replace(".", "_")

    def silence(self, ip):
        """Drops every packet sent to `ip`: connects to it time out instead of being refused."""
        t = self._nft_table
        subprocess.run(["nft", "add", "table", "inet", t], check=True)
        subprocess.run(["nft", "add", "chain", "inet", t, "out",
                        "{ type filter hook output priority 0 ; }"], check=True)
        subprocess.run(["nft", "add", "rule", "inet", t, "out", "ip", "daddr", ip, "drop"],
                       check=True)

    def isolate(self, ip):
        """Drops every packet to and from `ip`: the pod stays up but nobody reaches it and it
        reaches nobody, not even its own address (a network partition of one pod)."""
        self.silence(ip)
        subprocess.run(["nft", "add", "rule", "inet", self._nft_table, "out", "ip", "saddr", ip,
                        "drop"], check=True)

    def unsilence_all(self):
        subprocess.run(["nft", "delete", "table", "inet", self._nft_table],
                       stderr=subprocess.DEVNULL)

    def down(self):
        self.unsilence_all()
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

    # ----- clients and checks -----

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

    def wait_redis(self, i, timeout=30):
        import redis as redispy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pods[i].redis.alive():
                raise RuntimeError(f"redis-server of {self.pods[i].name} exited; see "
                                   f"{self.redis_log(i)}")
            try:
                self.redis(i, socket_timeout=0.5).ping()
                return
            except redispy.exceptions.BusyLoadingError:
                return
            except redispy.exceptions.ResponseError as e:
                if "LOADING" in str(e):
                    return
                raise
            except redispy.exceptions.ConnectionError:
                time.sleep(0.02)
        raise TimeoutError(f"{self.pods[i].name} did not answer within {timeout}s")

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
        r = subprocess.run(self._in_namespace(self.hosts_path(), argv), capture_output=True,
                           text=True, env=self.agent_env())
        if json_output and r.returncode in (0, 1):
            return r.returncode, json.loads(r.stdout)
        return r.returncode, r.stdout + r.stderr

    def healthy(self):
        rc, out = self.status()
        return rc == 0, out

    def wait_healthy(self, timeout=60, interval=0.05):
        deadline = time.monotonic() + timeout
        out = None
        while time.monotonic() < deadline:
            ok, out = self.healthy()
            if ok:
                return out
            time.sleep(interval)
        problems = out.get("problems") if isinstance(out, dict) else out
        raise TimeoutError(f"cluster not healthy after {timeout}s: {problems}")

    def wait_ready(self, timeout=60, interval=0.1):
        """Healthy per `status` and no warnings, i.e. every replica's replication link is up
        too: a rollout must not take the next master down before its replica is in sync (the
        handover needs one)."""
        deadline = time.monotonic() + timeout
        out = None
        while time.monotonic() < deadline:
            ok, out = self.healthy()
            if ok and not out.get("warnings"):
                return out
            time.sleep(interval)
        detail = (out.get("problems") or out.get("warnings")) if isinstance(out, dict) else out
        raise TimeoutError(f"cluster not ready after {timeout}s: {detail}")

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
        """redis-cli --cluster check from pod 0's address: (rc, output)."""
        p = next(p for p in self.pods if p.running)
        argv = ["redis-cli"] + self.redis_cli_tls_args() + ["--cluster", "check",
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


# ----- CLI -----

def _cli(argv):
    ap = argparse.ArgumentParser(prog="local-sts", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.environ.get("LOCAL_STS_ROOT", DEFAULT_ROOT))
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the pods and wait until the cluster is healthy")
    up.add_argument("--pods", type=int, default=6)
    up.add_argument("--replicas", type=int, default=1)
    up.add_argument("--node-timeout", type=int, default=15000)
    up.add_argument("--password", default=None)
    up.add_argument("--net", default="127.77")
    up.add_argument("--timeout", type=float, default=60)
    up.add_argument("--no-wait", action="store_true")
    sub.add_parser("status", help="the agent's status table")
    sub.add_parser("check", help="redis-cli --cluster check")
    sub.add_parser("down", help="stop every process of the local StatefulSet")
    for name, helptext in (("stop", "delete a pod (SIGTERM), keeping its data"),
                           ("kill", "kill a pod (SIGKILL), keeping its data"),
                           ("start", "start a stopped pod"),
                           ("restart", "delete a pod and start it again on a new IP")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("ordinal", type=int)
        if name in ("start", "restart"):
            p.add_argument("--same-ip", action="store_true")
            p.add_argument("--wipe", action="store_true", help="start with an empty data dir")
    d = sub.add_parser("delete", help="kubectl delete pod: preStop (handover), SIGTERM; the pod "
                                      "stays down until 'start'")
    d.add_argument("ordinal", type=int)
    pre = sub.add_parser("prestop", help="run only the preStop hook (handover) of a pod")
    pre.add_argument("ordinal", type=int)
    ro = sub.add_parser("rollout-restart", aliases=["rolling-restart"],
                        help="kubectl rollout restart: every pod, highest ordinal first")
    ro.add_argument("--same-ip", action="store_true")
    ro.add_argument("--away", type=float, default=0.0,
                    help="seconds between a pod's exit and its new start (scheduling, volume)")
    ro.add_argument("--timeout", type=float, default=120, help="readiness wait per pod")
    for p in (d, ro):
        p.add_argument("--no-prestop", action="store_true",
                       help="plain SIGTERM, no handover (the tutorial's behaviour)")
        p.add_argument("--classic-sidecar", action="store_true",
                       help="the agent gets SIGTERM as the preStop starts (no native sidecar)")
    args = ap.parse_args(argv)

    if args.cmd == "up":
        if os.path.exists(os.path.join(args.root, "state.json")):
            old = LocalStatefulSet.load(args.root)
            old.down()
        shutil.rmtree(args.root, ignore_errors=True)
        sts = LocalStatefulSet(args.root, pods=args.pods, replicas=args.replicas,
                               node_timeout=args.node_timeout, password=args.password,
                               net=args.net)
        sts.up()
        print(f"Started {args.pods} pods under {args.root}; waiting for the agents to form the "
              f"cluster...")
        if not args.no_wait:
            t0 = time.monotonic()
            sts.wait_healthy(timeout=args.timeout)
            print(f"Cluster formed in {time.monotonic() - t0:.1f}s.")
            # Replicas finish their first sync a few seconds later (Redis' diskless-sync delay).
            deadline = time.monotonic() + 15
            while sts.status()[1].get("warnings") and time.monotonic() < deadline:
                time.sleep(0.2)
            print(f"Replicas in sync after {time.monotonic() - t0:.1f}s.\n")
        rc, out = sts.status(json_output=False)
        print(out)
        return 0
    sts = LocalStatefulSet.load(args.root)
    if args.cmd == "status":
        rc, out = sts.status(json_output=False)
        print(out, end="")
        return rc
    if args.cmd == "check":
        rc, out = sts.cluster_check()
        print(out, end="")
        return rc
    if args.cmd == "down":
        sts.down()
        print(f"Stopped every process under {args.root}.")
        return 0
    if args.cmd == "prestop":
        r = sts.prestop(args.ordinal)
        print(r.output, end="")
        print(f"(preStop took {r.seconds:.3f}s, exit code {r.rc})")
        return 0 if r.rc == 0 else 1
    if args.cmd in ("rollout-restart", "rolling-restart"):
        def show(rec):
            pre = rec["prestop"]
            what = f"handover {pre.outcome} in {pre.seconds:.3f}s" if pre else "no preStop"
            print(f"redis-{rec['ordinal']} ({rec['role']}): {what}; back at {rec['ip']}, "
                  f"ready after {rec['total_s']:.1f}s", flush=True)
        sts.rollout_restart(prestop=not args.no_prestop,
                            sidecar="classic" if args.classic_sidecar else "native",
                            new_ip=not args.same_ip, away=args.away, ready_timeout=args.timeout,
                            on_pod=show)
        return 0
    if args.cmd == "delete":
        r = sts.delete_pod(args.ordinal, prestop=not args.no_prestop,
                           sidecar="classic" if args.classic_sidecar else "native")
        if r:
            print(r.output, end="")
    elif args.cmd == "stop":
        sts.stop_pod(args.ordinal)
    elif args.cmd == "kill":
        sts.kill_pod(args.ordinal)
    elif args.cmd == "start":
        sts.start_pod(args.ordinal, new_ip=not args.same_ip, wipe=args.wipe)
    elif args.cmd == "restart":
        sts.restart_pod(args.ordinal, new_ip=not args.same_ip, wipe=args.wipe)
    p = sts.pods[args.ordinal]
    print(f"{p.name}: {'running at ' + p.ip if p.running else 'stopped'}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
