"""What a local pod is made of: its directories, its mounted Secrets (password, TLS) laid out
the way the kubelet lays out a Secret volume, its redis.conf and its agent's command lines.

A mixin of LocalStatefulSet (tests/lib/localsts.py): it reads the StatefulSet's settings
(self.pods, self.root, self.password, self.tls, ...) and changes nothing but files."""
import os
import shutil
import time

import servers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_AGENT = os.path.join(REPO, "build", "agent", "redis-cluster-agent")
TEMPLATE = "redis-{ordinal}.redis-headless.default.svc.cluster.local"
HTTP_PORT = 9839
REDIS_PORT = 6379


def agent_binary():
    return os.environ.get("RCA_AGENT_BIN", DEFAULT_AGENT)


def kubelet_write(mount, name, text, mode):
    """Writes `name` into a Secret or ConfigMap volume at `mount` the way the kubelet does
    (atomic_writer.go): the new contents in a fresh hidden directory, a new symlink renamed over
    `..data`, the old directory removed; the visible file is a symlink through `..data`."""
    kubelet_write_files(mount, {name: text}, mode)


def kubelet_write_files(mount, files, mode):
    """kubelet_write of a whole volume at once: `files` ({name: text}) is its new content."""
    os.makedirs(mount, exist_ok=True)
    stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    os.makedirs(os.path.join(mount, stamp), mode=0o755)
    for name, text in files.items():
        fd = os.open(os.path.join(mount, stamp, name), os.O_WRONLY | os.O_CREAT, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    data = os.path.join(mount, "..data")
    old = os.readlink(data) if os.path.islink(data) else None
    os.symlink(stamp, os.path.join(mount, "..data_tmp"))
    os.rename(os.path.join(mount, "..data_tmp"), data)
    for name in files:
        visible = os.path.join(mount, name)
        if not os.path.islink(visible):
            os.symlink(f"..data/{name}", visible)
    if old:
        shutil.rmtree(os.path.join(mount, old), ignore_errors=True)


class PodConfig:
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

    # ----- the password as a Secret volume holds it -----

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
        """Updates pod i's Secret volume the way the kubelet does (kubelet_write)."""
        password = self.password if password is None else password
        kubelet_write(self.secret_mount(i), "redis-password", password + "\n", 0o600)

    # ----- the shape: a ConfigMap volume every pod mounts (the chart's <release>-shape) -----

    @property
    def shape_mount(self):
        return os.path.join(self.root, "shape-configmap")

    @property
    def shape_path(self):
        return os.path.join(self.shape_mount, "shape")

    def write_shape(self, nodes=None, replicas=None):
        """The ConfigMap's new contents (the chart's cluster.nodes / cluster.replicas), swapped
        in the way the kubelet updates a mounted ConfigMap. Returns the text."""
        text = (f"nodes: {self.size if nodes is None else nodes}\n"
                f"replicas: {self.replicas if replicas is None else replicas}\n")
        kubelet_write(self.shape_mount, "shape", text, 0o644)
        return text

    def _ensure_shape(self):
        if not os.path.exists(self.shape_path):
            self.write_shape()

    def _write_secret(self):
        if self.password is None:
            return
        fd = os.open(self.secret_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")

    def _mount_secrets(self, ordinals):
        if self.password is None:
            return
        for i in ordinals:
            if not os.path.exists(self.pod_secret_path(i)):
                self.mount_secret(i)

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

    # ----- the containers' configuration -----

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
                 f"--cluster-nodes={self.size}", f"--shape-file={self.shape_path}",
                 f"--peer-host-template={TEMPLATE}",
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

    def pod_server(self, i):
        """The server pod i runs at its next start (pod_servers, else the StatefulSet's)."""
        return servers.server(self.pod_servers.get(i, self.server.name))

    def prepare_argv(self, i):
        # --server: the chart's AGENT_SERVER; for Valkey, prepare names the pod in the include
        # (cluster-announce-human-nodename), which Redis 7.0 would refuse.
        p = self.pods[i]
        return [agent_binary(), "prepare"] + self._common_flags(i) + [
            f"--pod-ip={p.ip}", f"--nodes-conf={self.data_dir(i)}/nodes.conf",
            f"--include-file={self.run_dir(i)}/redis-agent.conf",
            f"--server={self.pod_server(i).name}"]

    @staticmethod
    def agent_env():
        # A clean environment: AGENT_* variables of the caller must not leak into the agents.
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
