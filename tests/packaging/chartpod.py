"""The chart's pod, run on the local StatefulSet: chart and binary cannot disagree.

`helm template` renders the chart; ChartRuntime then runs the rendered pod spec's containers for
each pod of tests/lib/localsts.py, taking command, args, env, volume mounts and security
context from the StatefulSet as they are. Only what Kubernetes itself would supply is filled
in: the downward API (POD_IP, POD_NAME, NODE_NAME, a container's resource limits), `$(VAR)`
expansion, the volumes (a PVC is the pod's data dir, an emptyDir a fresh directory per pod start,
ConfigMaps and Secrets files written from the rendered objects, or from the test's secrets for a
Secret the chart does not make), the user a platform assigns when the pod spec names none
(OpenShift's restricted policy), and the pod network: each local pod
has its own 127.x address instead of a network namespace, so Redis gets `--bind <pod IP>
--bind-source-addr <pod IP>` appended (in a pod, `bind * -::*` reaches the same addresses).

Two runners start a container: PodrootRunner (tests/lib/podroot.py: a private mount namespace
with the volumes at their mount paths, the build's agent binary at the image's path, the
container's uid/gid and read-only root) and PodmanRunner (the real images with
`podman run --network host`).
"""
import base64
import os
import re
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from localsts import Process  # noqa: E402
from podconfig import kubelet_write_files  # noqa: E402

# RCA_CHART: another copy of the chart, e.g. an older one, to show what the checks catch there.
CHART = os.environ.get("RCA_CHART", os.path.join(REPO, "charts", "redis-cluster-agent"))
PODROOT = os.path.join(REPO, "tests", "lib", "podroot.py")
# What every image's ENV has (Debian's default; the official redis image has the same).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def helm():
    return os.environ.get("RCA_HELM", os.path.join(REPO, ".cache", "tools", "helm"))


def helm_template(*args, release="redis", namespace="default", chart=CHART):
    """`helm template` of the chart: (returncode, stdout, stderr)."""
    r = subprocess.run([helm(), "template", release, chart, "--namespace", namespace, *args],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def render(*args, **kw):
    """The rendered objects; raises with helm's message when rendering fails."""
    rc, out, err = helm_template(*args, **kw)
    if rc != 0:
        raise RuntimeError(f"helm template failed: {err.strip()}")
    return [d for d in yaml.safe_load_all(out) if d]


def upgrade_hook(doc):
    """Whether an object is one of helm's upgrade/rollback hooks (the scaling Jobs and their
    NetworkPolicy), which exist only while an upgrade runs."""
    hook = doc["metadata"].get("annotations", {}).get("helm.sh/hook", "")
    return "upgrade" in hook or "rollback" in hook


def find(docs, kind, name=None):
    """The one object of a kind (and name). Without a name the upgrade hooks are left out: the
    release's own object of that kind is meant (e.g. its NetworkPolicy, not the hooks')."""
    found = [d for d in docs if d.get("kind") == kind
             and (d["metadata"]["name"] == name if name is not None else not upgrade_hook(d))]
    if len(found) != 1:
        raise LookupError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$")
QUANTITY_FACTORS = {None: 1, "m": 0.001, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                    "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
                    "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(text):
    """A Kubernetes resource quantity ("512Mi", "1G", "100m") as a number."""
    m = QUANTITY.match(str(text))
    if not m:
        raise ValueError(f"not a quantity: {text!r}")
    return float(m.group(1)) * QUANTITY_FACTORS[m.group(2)]


def expand(text, env):
    """Kubernetes' $(VAR) expansion: defined variables are replaced, $$ is a literal $,
    anything else stays as it is."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, text)


class ContainerRun:
    """One container of one pod, ready to start: argv, env, mounts (host, container, ro),
    uid/gid/groups and whether its root filesystem is read-only."""

    def __init__(self, name, image, argv, env, mounts, uid, gid, groups, read_only):
        self.name, self.image, self.argv, self.env = name, image, argv, env
        self.mounts, self.uid, self.gid, self.groups = mounts, uid, gid, groups
        self.read_only = read_only


def hook_job(docs, hook):
    """The rendered Job helm runs as `hook` ("pre-upgrade", "post-upgrade", ...)."""
    jobs = [d for d in docs if d["kind"] == "Job" and hook in
            d["metadata"].get("annotations", {}).get("helm.sh/hook", "").split(",")]
    if len(jobs) != 1:
        raise LookupError(f"expected one {hook} Job, found {len(jobs)}")
    return jobs[0]


class PodSpec:
    """The rendered StatefulSet's pod template (or another workload's: a hook Job's)."""

    def __init__(self, docs, workload=None):
        self.docs = docs
        self.sts = workload or find(docs, "StatefulSet")
        self.spec = self.sts["spec"]["template"]["spec"]
        self.claims = [c["metadata"]["name"] for c in self.sts["spec"].get("volumeClaimTemplates", [])]

    @property
    def replicas(self):
        return self.sts["spec"]["replicas"]

    def init_containers(self):
        """The init containers that run to completion, in order (not native sidecars)."""
        return [c for c in self.spec.get("initContainers", []) if c.get("restartPolicy") != "Always"]

    def container(self, name):
        """A long-running container: an ordinary one or a native sidecar."""
        sidecars = [c for c in self.spec.get("initContainers", [])
                    if c.get("restartPolicy") == "Always"]
        for c in self.spec["containers"] + sidecars:
            if c["name"] == name:
                return c
        raise LookupError(f"no long-running container {name!r} in the pod spec")

    def ids(self, platform=None):
        """(runAsUser, runAsGroup, fsGroup) of the pod; what the pod spec leaves out comes from
        platform, a dict with the same keys (a platform that assigns users: OpenShift gives a UID
        and fsGroup from the namespace's range and group 0)."""
        pod = self.spec.get("securityContext", {})
        out = []
        for key in ("runAsUser", "runAsGroup", "fsGroup"):
            out.append(pod[key] if key in pod else (platform or {}).get(key))
        return tuple(out)

    def security(self, c, platform=None):
        pod = self.spec.get("securityContext", {})
        ctr = c.get("securityContext", {})
        pod_uid, pod_gid, fs_group = self.ids(platform)
        uid = ctr.get("runAsUser", pod_uid)
        gid = ctr.get("runAsGroup", pod_gid)
        groups = [g for g in (gid, fs_group) if g is not None]
        groups += pod.get("supplementalGroups", [])
        return uid, gid, sorted(set(groups)), bool(ctr.get("readOnlyRootFilesystem"))

    def resource_field(self, ref, default_container):
        """A resourceFieldRef's value, as the kubelet gives it: the limit (or request) divided
        by the divisor, rounded up. (Without a limit the kubelet gives the node's allocatable;
        the tests always set one.)"""
        name = ref.get("containerName", default_container)
        c = next(c for c in self.spec["containers"] + self.spec.get("initContainers", [])
                 if c["name"] == name)
        kind, resource = ref["resource"].split(".", 1)
        value = c.get("resources", {}).get(kind, {}).get(resource)
        if value is None:
            raise NotImplementedError(f"resourceFieldRef {ref}: container {name} sets no {kind}")
        divisor = quantity(ref.get("divisor", "1"))
        return str(int(-(-quantity(value) // divisor)))

    def env(self, c, pod):
        """The container's own variables as the kubelet resolves them: in order, each value
        expanded with the ones before it (the image's ENV is not visible to the kubelet)."""
        field_values = {"status.podIP": pod.ip, "metadata.name": pod.name,
                        "spec.nodeName": pod.k8s_node, "metadata.namespace": "default"}
        env = {}
        for e in c.get("env", []):
            source = e.get("valueFrom", {})
            if "value" in e:
                env[e["name"]] = expand(str(e["value"]), env)
            elif "fieldRef" in source:
                env[e["name"]] = field_values[source["fieldRef"]["fieldPath"]]
            elif "resourceFieldRef" in source:
                env[e["name"]] = self.resource_field(source["resourceFieldRef"], c["name"])
            else:
                raise NotImplementedError(f"env {e['name']}: only value, fieldRef and "
                                          "resourceFieldRef are supported")
        return env

    def run(self, c, pod, volumes, image_env, platform=None):
        own = self.env(c, pod)
        if "command" not in c:
            raise AssertionError(f"container {c['name']} has no command: the chart must not "
                                 "depend on an image's entrypoint")
        argv = [expand(str(a), own) for a in c["command"] + c.get("args", [])]
        env = {**image_env, "HOSTNAME": pod.name, **own}
        mounts = []
        for m in c.get("volumeMounts", []):
            src = volumes[m["name"]]
            if m.get("subPath"):
                src = os.path.join(src, m["subPath"])
            mounts.append((src, m["mountPath"], bool(m.get("readOnly"))))
        uid, gid, groups, read_only = self.security(c, platform)
        return ContainerRun(c["name"], c["image"], argv, env, mounts, uid, gid, groups, read_only)


class ChartRuntime:
    """localsts runtime: the rendered pod spec's containers for every pod.

    images maps each image reference of the pod spec to the runner's stand-in for it;
    secrets maps the name of a Secret the chart does not make to its data ({key: value}), as the
    cluster would hold it; platform is the user a platform assigns (PodSpec.ids);
    redis_container / agent_container name the long-running containers."""

    def __init__(self, docs, runner, secrets=None, redis_container="redis",
                 agent_container="agent", platform=None):
        self.pod = PodSpec(docs)
        self.docs = docs
        self.runner = runner
        self.secrets = secrets or {}
        self.platform = platform
        self.redis_name, self.agent_name = redis_container, agent_container
        self._volumes = {}  # ordinal -> {volume name: host path}, made when the pod starts

    # ----- volumes -----

    def _owner(self):
        uid, gid, fs_group = self.pod.ids(self.platform)
        return uid or 0, fs_group if fs_group is not None else (gid or 0)

    def secret_data(self, name):
        """A Secret's data: the chart's own (rendered), else the test's."""
        rendered = [d for d in self.docs if d.get("kind") == "Secret"
                    and d["metadata"]["name"] == name]
        if rendered:
            return {k: base64.b64decode(v).decode() for k, v in rendered[0].get("data", {}).items()}
        return self.secrets[name]

    @staticmethod
    def _write_files(directory, data, items, mode, owner):
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        os.chmod(directory, 0o755)
        paths = {i["key"]: i["path"] for i in items} if items else {k: k for k in data}
        for key, rel in paths.items():
            path = os.path.join(directory, rel)
            with open(path, "w") as f:
                f.write(data[key])
            os.chmod(path, mode)
            os.chown(path, *owner)

    def _config_map_files(self, v):
        """{path: text} of a configMap volume, from the current rendering."""
        cm = find(self.docs, "ConfigMap", v["configMap"]["name"])
        items = v["configMap"].get("items")
        paths = {i["key"]: i["path"] for i in items} if items else {k: k for k in cm["data"]}
        return {rel: cm["data"][key] for key, rel in paths.items()}

    def _make_volume(self, v, path, fs_group):
        """One volume of a pod spec at the host path `path`."""
        if "emptyDir" in v:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o777)
        elif "configMap" in v:
            # The kubelet's layout (..data), so that an upgrade can change it in place (apply).
            shutil.rmtree(path, ignore_errors=True)
            kubelet_write_files(path, self._config_map_files(v),
                                v["configMap"].get("defaultMode", 0o644))
        elif "secret" in v:
            sec = v["secret"]
            self._write_files(path, self.secret_data(sec["secretName"]), sec.get("items"),
                              sec.get("defaultMode", 0o644), (0, fs_group))
        else:
            raise NotImplementedError(f"volume {v['name']}: unsupported type")

    def make_volumes(self, sts, i):
        """Host directories for pod i's volumes, made the way the kubelet would when the pod
        is created: each pod has its own copy of every volume."""
        uid, fs_group = self._owner()
        out = {}
        for claim in self.pod.claims:
            out[claim] = sts.data_dir(i)
            os.chown(out[claim], uid, fs_group)
        for v in self.pod.spec.get("volumes", []):
            name = v["name"]
            if "emptyDir" in v:
                path = os.path.join(sts.run_dir(i), "emptydir", name)
            else:
                path = os.path.join(sts.pod_dir(i), "volumes", name)
            self._make_volume(v, path, fs_group)
            out[name] = path
        self._volumes[i] = out
        return out

    # ----- helm upgrade -----

    def apply(self, sts, docs):
        """`helm upgrade` of the objects the running pods see, without their hooks: the new
        rendering's ConfigMaps reach every running pod's volumes as the kubelet updates them
        (in place, no restart), and pods created from now on get the new rendering. Refuses a
        rendering whose pod template differs (that would roll every pod)."""
        new = PodSpec(docs)
        if new.spec != self.pod.spec:
            raise AssertionError("the upgrade changes the pod template: every pod would restart")
        self.docs, self.pod = docs, new
        for p in sts.pods:
            if not p.running or p.ordinal not in self._volumes:
                continue
            for v in self.pod.spec.get("volumes", []):
                if "configMap" in v:
                    kubelet_write_files(self._volumes[p.ordinal][v["name"]],
                                        self._config_map_files(v),
                                        v["configMap"].get("defaultMode", 0o644))

    def run_job(self, sts, job, timeout):
        """A rendered Job's pod run to completion once, as the Job controller starts it: its
        volumes from the current rendering, its one container in the runner with the pods' DNS
        names (pod 0's /etc/hosts). Returns (exit code, output)."""
        spec = PodSpec(self.docs, job)
        _, fs_group = self._owner()
        base = os.path.join(sts.root, "jobs", job["metadata"]["name"])
        volumes = {}
        for v in spec.spec.get("volumes", []):
            volumes[v["name"]] = os.path.join(base, "volumes", v["name"])
            self._make_volume(v, volumes[v["name"]], fs_group)
        (c,) = spec.spec["containers"]
        run = spec.run(c, sts.pods[0], volumes, self.runner.image_env(c["image"]), self.platform)
        r = subprocess.run(self.runner.argv(sts, 0, run), capture_output=True, text=True,
                           env=self.runner.env(run), stdin=subprocess.DEVNULL, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def volumes(self, i):
        """Pod i's volumes: {volume name: host path} (made when the pod was created)."""
        return self._volumes[i]

    # ----- the localsts runtime interface -----

    def container_run(self, sts, i, container):
        image_env = self.runner.image_env(container["image"])
        return self.pod.run(container, sts.pods[i], self._volumes[i], image_env, self.platform)

    def init_containers(self, sts, i):
        """The pod's creation: its volumes, then every init container to completion."""
        self.make_volumes(sts, i)
        for c in self.pod.init_containers():
            run = self.container_run(sts, i, c)
            with open(sts.agent_log(i), "ab") as log:
                log.write(f"--- init container {c['name']}\n".encode())
                log.flush()
                rc = subprocess.run(self.runner.argv(sts, i, run), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self.runner.env(run)).returncode
            if rc != 0:
                raise RuntimeError(f"init container {c['name']} of {sts.pods[i].name} failed "
                                   f"(rc={rc}); see {sts.agent_log(i)}")

    def redis_run(self, sts, i):
        run = self.container_run(sts, i, self.pod.container(self.redis_name))
        ip = sts.pods[i].ip
        run.argv += ["--bind", ip, "--bind-source-addr", ip]
        return run

    def start_redis(self, sts, i):
        run = self.redis_run(sts, i)
        return Process.spawn(self.runner.argv(sts, i, run), sts.redis_log(i) + ".out",
                             env=self.runner.env(run))

    def agent_run(self, sts, i):
        return self.container_run(sts, i, self.pod.container(self.agent_name))

    def start_agent(self, sts, i):
        run = self.agent_run(sts, i)
        return Process.spawn(self.runner.argv(sts, i, run), sts.agent_log(i),
                             env=self.runner.env(run))

    def cleanup(self, sts):
        self.runner.cleanup(sts)


class PodrootRunner:
    """Containers as host processes in a podroot mount namespace. images maps an image
    reference to (files, env): files [(host path, container path)] the image provides."""

    def __init__(self, images):
        self.images = images

    def image_env(self, image):
        return self.images[image][1]

    def argv(self, sts, i, run):
        root = os.path.join(sts.pod_dir(i), "roots", run.name)
        os.makedirs(root, exist_ok=True)
        argv = [sys.executable, PODROOT, "--root", root, "--hosts", sts.hosts_path(i)]
        for src, dst in self.images[run.image][0]:
            argv += ["--mount", f"{src}:{dst}:ro"]
        for src, dst, ro in run.mounts:
            argv += ["--mount", f"{src}:{dst}" + (":ro" if ro else "")]
        if run.uid is not None:
            argv += ["--uid", str(run.uid), "--gid", str(run.gid if run.gid is not None else run.uid),
                     "--groups", ",".join(str(g) for g in run.groups)]
        if run.read_only:
            argv.append("--read-only")
        return argv + ["--"] + run.argv

    @staticmethod
    def env(run):
        return run.env

    def cleanup(self, sts):
        pass  # every process is the container's own; localsts stops them by pid


class PodmanRunner:
    """Containers from real images: `podman run --network host`, each pod on its own 127.x
    address. images maps the chart's image reference to a local image. Every container
    carries the label rca-test=<prefix>; cleanup removes them even if the client was killed."""

    def __init__(self, images, prefix):
        self.images = images
        self.prefix = prefix

    def image_env(self, image):
        # The image's own ENV is applied by podman; only the container's entries are passed.
        return {}

    def argv(self, sts, i, run):
        name = f"{self.prefix}-{sts.pods[i].name}-{run.name}"
        argv = ["podman", "run", "--rm", "--name", name, "--label", f"rca-test={self.prefix}",
                "--network", "host", "--no-hosts", "-v", f"{sts.hosts_path(i)}:/etc/hosts:ro",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--pull", "never"]
        for src, dst, ro in run.mounts:
            argv += ["-v", f"{src}:{dst}" + (":ro" if ro else "")]
        if run.uid is not None:
            argv += ["--user", f"{run.uid}:{run.gid if run.gid is not None else run.uid}"]
            for g in run.groups:
                argv += ["--group-add", str(g)]
        if run.read_only:
            argv += ["--read-only", "--read-only-tmpfs=false"]
        for k, v in run.env.items():
            if k != "HOSTNAME":
                argv += ["-e", f"{k}={v}"]
        argv += ["--hostname", sts.pods[i].name, "--entrypoint", run.argv[0],
                 self.images[run.image]] + run.argv[1:]
        # A container of the same name left by a killed client would block the new one.
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)
        return argv

    @staticmethod
    def env(run):
        return dict(os.environ)

    def cleanup(self, sts):
        ids = subprocess.run(["podman", "ps", "-aq", "--filter", f"label=rca-test={self.prefix}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["podman", "rm", "-f", "-t", "0", *ids], capture_output=True)


def agent_image_files(agent_binary):
    """The build's agent binary and its static handover client where the agent image has
    them (`run` installs the client from beside its own binary into the runtime dir)."""
    client = os.path.join(os.path.dirname(agent_binary), "redis-cluster-agent-handover")
    return [(agent_binary, "/opt/redis-cluster-agent/bin/redis-cluster-agent"),
            (client, "/opt/redis-cluster-agent/bin/redis-cluster-agent-handover")]
