"""The tutorial's cluster on the local StatefulSet, and its adoption by the agent (README,
"Coming from the tutorial"), for tests/e2e/test_adopt.py and tests/packaging/test_adoption.py.

TutorialStatefulSet is a LocalStatefulSet whose pods run the way the tutorial's manifests
(examples/tutorial/before/) run them until they are adopted: redis-server alone, nodes.conf
patched by the tutorial's own update-node.sh before every start, the cluster made once with
`redis-cli --cluster create --cluster-replicas 1`. Adopting a pod is the README's per-pod step:
examples/tutorial/handover-old-pod.sh (through a kubectl stand-in), the pod deleted without a
preStop, and started again on a new address with the agent.

Name resolution follows Kubernetes during the adoption: a pod resolves under the agents' peer
names only once it is adopted (a tutorial pod's subdomain is the tutorial's Service, so the new
headless Service publishes no name for it). "redis-cluster", the client Service the hit counter
uses, resolves to the running pods that are its endpoints: the tutorial's Service
(examples/tutorial/before/) until `chart_installed` is set (README step 3), then the chart's
(examples/tutorial/redis-cluster.yaml), each decided as Kubernetes does from the Service's
selector and target port and the pod's labels and container ports (client_service_reaches).
"""
import functools
import json
import os
import subprocess
import sys
import time

import yaml

from localsts import TEMPLATE, LocalStatefulSet

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples")
TUTORIAL_STS = os.path.join(EXAMPLES, "tutorial", "before", "redis-sts.yaml")
TUTORIAL_SVC = os.path.join(EXAMPLES, "tutorial", "before", "redis-svc.yaml")
ADOPTED = os.path.join(EXAMPLES, "tutorial", "redis-cluster.yaml")
HANDOVER_SCRIPT = os.path.join(EXAMPLES, "tutorial", "handover-old-pod.sh")
HIT_COUNTER = os.path.join(EXAMPLES, "hit-counter", "hitcounter.py")
CLIENT_SERVICE = "redis-cluster"

# Stands in for kubectl in handover-old-pod.sh: `kubectl exec POD -c redis -- redis-cli ARGS`
# runs redis-cli against that pod's address (a later -h/-p in ARGS still wins, as in the pod).
_KUBECTL = r'''#!/usr/bin/python3
import json, os, sys
args = sys.argv[1:]
if len(args) < 5 or args[0] != "exec" or "--" not in args or args[args.index("--") + 1] != "redis-cli":
    sys.exit("kubectl stand-in: only 'exec POD [-c redis] -- redis-cli ...' is known: %r" % args)
with open(os.environ["TUTORIAL_PODS"]) as f:
    ip = json.load(f)[args[1]]
rest = args[args.index("--") + 2:]
os.execvp("redis-cli", ["redis-cli", "-h", ip] + rest)
'''


@functools.lru_cache(maxsize=None)  # read-only use: the files do not change during a run
def _load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def _find(path, kind, name=None):
    return next(d for d in _load(path) if d["kind"] == kind and name in (None, d["metadata"]["name"]))


def tutorial_configmap():
    """The tutorial's ConfigMap data: update-node.sh and redis.conf."""
    return _find(TUTORIAL_STS, "ConfigMap")["data"]


def client_service_reaches(chart_installed, adopted):
    """Whether the client Service "redis-cluster" has a running pod as its endpoint: the
    tutorial's Service, or the chart's once it is installed (README step 3); a tutorial pod
    (labelled in step 1) or an adopted one. As Kubernetes decides it: the Service's selector
    matches the pod's labels, and its target port is a number, or the name of one of the pod's
    container ports."""
    service = _find(ADOPTED if chart_installed else TUTORIAL_SVC, "Service", CLIENT_SERVICE)
    chart_sts = _find(ADOPTED, "StatefulSet")
    template = (chart_sts if adopted else _find(TUTORIAL_STS, "StatefulSet"))["spec"]["template"]
    labels = dict(template["metadata"]["labels"])
    if not adopted:
        labels.update(chart_sts["spec"]["selector"]["matchLabels"])  # README step 1
    if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()):
        return False
    target = service["spec"]["ports"][0]["targetPort"]
    spec = template["spec"]
    ports = [p.get("name") for c in spec["containers"] + spec.get("initContainers", [])
             for p in c.get("ports", [])]
    return isinstance(target, int) or target in ports


def tutorial_redis_conf():
    """The tutorial's redis.conf directives, minus the nodes.conf path (the pod's data dir
    differs here)."""
    lines = tutorial_configmap()["redis.conf"].splitlines()
    return [l.strip() for l in lines if l.strip() and not l.startswith("cluster-config-file")]


def tutorial_node_timeout():
    for line in tutorial_redis_conf():
        if line.startswith("cluster-node-timeout"):
            return int(line.split()[1])
    raise LookupError("the tutorial's redis.conf has no cluster-node-timeout")


class TutorialStatefulSet(LocalStatefulSet):
    """A LocalStatefulSet that starts as the tutorial's cluster. `aliases` adds, per ordinal,
    more names for an adopted pod (e.g. the peer names of the tutorial-names chart)."""

    def __init__(self, root, aliases=(), **kw):
        kw.setdefault("node_timeout", tutorial_node_timeout())
        kw["redis_conf"] = tutorial_redis_conf() + list(kw.get("redis_conf", ()))
        self.tutorial_runtime = kw.get("runtime")
        kw["runtime"] = None
        super().__init__(root, with_agent=False, **kw)
        self.adopted = set()
        self.chart_installed = False
        self.aliases = list(aliases)
        self.handovers = []  # (ordinal, output of handover-old-pod.sh)

    # Adopted pods whose agents run with a tutorial-style name (the adopted pod spec) are one
    # StatefulSet under that name: `status` asks with it.
    def status_template(self):
        return self.aliases[0] if self.aliases else TEMPLATE

    # Overrides LocalStatefulSet's resolver contents (see the module docstring). The test
    # modules check the hosts files themselves, so a change of that hook cannot go unnoticed.
    def _hosts_text(self):
        lines = ["127.0.0.1 localhost"]
        for p in self.pods:
            if p.running and p.ordinal in self.adopted:
                names = [p.dns_name, p.name] + [a.format(ordinal=p.ordinal) for a in self.aliases]
                lines.append(f"{p.ip} {' '.join(names)}")
        lines += [f"{p.ip} {CLIENT_SERVICE}" for p in self.pods if p.running and
                  client_service_reaches(self.chart_installed, p.ordinal in self.adopted)]
        return "\n".join(lines) + "\n"

    def resolvable(self, ordinal, hosts_file=None):
        """Whether pod `ordinal`'s peer name is in a hosts file (default: the shared one)."""
        with open(hosts_file or self.hosts_path()) as f:
            return any(TEMPLATE.format(ordinal=ordinal) in line.split() for line in f)

    # ----- the tutorial's way of running a pod -----

    def _update_node(self, sts, i):
        """The tutorial's update-node.sh before redis-server starts, on this pod's nodes.conf."""
        script = tutorial_configmap()["update-node.sh"].replace(
            "/data/nodes.conf", os.path.join(self.data_dir(i), "nodes.conf"))
        # Its output goes where the container's would: before Redis' own, in the pod's log.
        with open(self.redis_log(i) + ".out", "ab") as log:
            subprocess.run(["sh", "-c", script, "update-node.sh", "true"], check=True,
                           stdout=log, stderr=subprocess.STDOUT,
                           env={"PATH": "/usr/bin:/bin", "POD_IP": self.pods[i].ip})

    def start_tutorial_pod(self, i, new_ip=False):
        if i in self.adopted:
            raise RuntimeError(f"{self.pods[i].name} is adopted already")
        self.start_pod(i, new_ip=new_ip, before_redis=self._update_node)

    def create_tutorial_cluster(self, timeout=60):
        """Every pod started the tutorial's way, then `redis-cli --cluster create` as the
        tutorial types it (with --cluster-yes instead of typing yes)."""
        for i in range(self.size):
            self.start_tutorial_pod(i)
        addrs = [f"{p.ip}:6379" for p in self.pods]
        r = subprocess.run(["redis-cli", "--cluster", "create", *addrs, "--cluster-replicas",
                            str(self.replicas), "--cluster-yes"], capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{r.stdout}{r.stderr}")
        deadline = time.monotonic() + timeout
        while not (self.cluster_check_clean()[0] and self.views_agree()[0]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"tutorial cluster not formed: {self.views_agree()[1]}\n"
                                   f"{self.cluster_check()[1]}")
            time.sleep(0.2)
        return r.stdout

    def views_agree(self):
        """Whether every node sees every node in the role (and with the master) that node
        states for itself: (agree, first disagreement). A node learns a replica's role only
        from that replica's own messages, which with a 15 s node timeout can take seconds."""
        views = {p.ordinal: [l.split() for l in self.command(p.ordinal, "CLUSTER", "NODES")
                             .splitlines()] for p in self.pods if p.running}
        own = {f[0]: (f[2].replace("myself,", ""), f[3]) for v in views.values() for f in v
               if "myself" in f[2]}
        for i, view in views.items():
            for f in view:
                seen = (f[2].replace("myself,", ""), f[3])
                if f[0] in own and seen != own[f[0]]:
                    return False, f"redis-{i} sees {f[0][:8]} as {seen}, it says {own[f[0]]}"
        return True, None

    def cluster_check_clean(self):
        """redis-cli --cluster check: (clean, output); clean is exit code 0, every slot
        covered and no [ERR] or [WARNING] line."""
        rc, out = self.cluster_check()
        clean = rc == 0 and "[OK] All 16384 slots covered." in out and \
            "[ERR]" not in out and "[WARNING]" not in out
        return clean, out

    # ----- the README's per-pod adoption step -----

    def kubectl_standin(self, bindir):
        """Writes the kubectl stand-in into bindir; returns the environment to run the
        README's scripts with (PATH first, and the pod-name -> address map it reads)."""
        os.makedirs(bindir, exist_ok=True)
        path = os.path.join(bindir, "kubectl")
        with open(path, "w") as f:
            f.write(_KUBECTL)
        os.chmod(path, 0o755)
        return {"PATH": f"{bindir}:/usr/bin:/bin", "TUTORIAL_PODS": os.path.join(bindir, "pods.json")}

    def handover_old_pod(self, i, env):
        """examples/tutorial/handover-old-pod.sh for pod i: (exit code, output)."""
        with open(env["TUTORIAL_PODS"], "w") as f:
            json.dump({p.name: p.ip for p in self.pods if p.running}, f)
        r = subprocess.run(["sh", HANDOVER_SCRIPT, self.pods[i].name], capture_output=True,
                           text=True, env=env, timeout=120)
        self.handovers.append((i, r.stdout + r.stderr))
        return r.returncode, r.stdout + r.stderr

    def adopt_pod(self, i, env, before_start=None, wait=True, away=0.0):
        """Pod i from the tutorial's spec to the agent's: handover (the preStop it lacks),
        delete without a preStop, `away` seconds (Kubernetes creating the new pod and
        attaching its volume), start on a new address with the agent (prepare + run, or the
        runtime given to the constructor). before_start(sts, i) runs while the pod is down,
        e.g. the README's chown of the volume; wait=False returns without waiting for Redis
        to answer. Returns the script's output."""
        rc, out = self.handover_old_pod(i, env)
        if rc != 0:
            raise RuntimeError(f"handover-old-pod.sh {self.pods[i].name} failed:\n{out}")
        self.delete_pod(i, prestop=False)
        time.sleep(away)
        if before_start:
            before_start(self, i)
        self.adopted.add(i)
        self.with_agent = True
        self.runtime = self.tutorial_runtime
        self.start_pod(i, new_ip=True, wait=wait)
        return out


def start_hit_counter(sts, log_path):
    """examples/hit-counter/hitcounter.py on 127.0.0.1 (a free port), seeded with the client
    Service's name, resolved through the StatefulSet's shared hosts file as a pod would.
    Returns (process, base URL); stop it with process.stop()."""
    from localsts import Process
    argv = ["unshare", "--mount", "--", "/bin/sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', sts.hosts_path(),
            sys.executable, HIT_COUNTER, "--seeds", f"{CLIENT_SERVICE}:6379", "--bind",
            "127.0.0.1", "--port", "0"]
    proc = Process.spawn(argv, log_path, env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(log_path) as f:
            first = f.readline()
        if first.startswith("listening on "):
            return proc, "http://" + first.split()[-1]
        if not proc.alive():
            break
        time.sleep(0.05)
    proc.stop()
    with open(log_path) as f:
        raise RuntimeError(f"hit counter did not start: {f.read()}")
