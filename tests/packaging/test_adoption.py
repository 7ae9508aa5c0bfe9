"""Issue 18, packaging side: the chart with the tutorial's names (examples/tutorial/values.yaml),
its rendering for kubectl (examples/tutorial/redis-cluster.yaml) and the hit counter's manifest,
checked like the chart's other variants; the README's adoption commands checked against what
the chart renders; and the adopted pod spec, as it is, taking over a cluster built with the
tutorial's recipe on the local StatefulSet (README, "Coming from the tutorial").
"""
import os
import re
import shlex
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

import chartpod
from chartpod import CHART, REPO, find
from conftest import next_net
from test_contract import podroot_runtime
from tutorial import TutorialStatefulSet

HERE = os.path.dirname(os.path.abspath(__file__))
TUTORIAL = os.path.join(REPO, "examples", "tutorial")
VALUES = os.path.join(TUTORIAL, "values.yaml")
ADOPTED = os.path.join(TUTORIAL, "redis-cluster.yaml")
BEFORE = [os.path.join(TUTORIAL, "before", f) for f in ("redis-sts.yaml", "redis-svc.yaml")]
HIT_COUNTER = os.path.join(REPO, "examples", "hit-counter", "hit-counter.yaml")
RELEASE, NAMESPACE = "redis-cluster", "default"

# The variants the README uses: the release as it stays, and as it is installed for the
# adoption (no pod replaced until it is deleted).
VARIANTS = {
    "tutorial-names": [],
    "tutorial-names-during-adoption": ["--set", "updateStrategy.type=OnDelete"],
    "tutorial-names-classic-sidecar": ["--set", "agent.sidecarMode=classic"],
}

STARTED = []  # local StatefulSets of this module, for the logs of a failed test


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def render(*args):
    return chartpod.render("-f", VALUES, *args, release=RELEASE, namespace=NAMESPACE)


def validate(paths):
    r = subprocess.run(["node", os.path.join(HERE, "validate.js"), *paths], capture_output=True,
                       text=True)
    return r.returncode, r.stdout + r.stderr


def readme_commands():
    """The shell lines of README "Coming from the tutorial", continuation lines joined."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("\n## Coming from the tutorial\n", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        block = re.sub(r"\\\n\s*", " ", block)
        lines += [l.strip() for l in block.splitlines() if l.strip()]
    return lines


def command(prefix):
    found = [l for l in readme_commands() if l.startswith(prefix)]
    assert found, f"README \"Coming from the tutorial\" has no command starting {prefix!r}"
    return shlex.split(found[0].split("#")[0])


# ----- rendered and validated like the chart's other variants -----

@pytest.mark.parametrize("name", list(VARIANTS))
def test_tutorial_variant_passes_lint_and_schemas(name, tmp_path):
    args = ["-f", VALUES, *VARIANTS[name]]
    r = subprocess.run([chartpod.helm(), "lint", "--strict", CHART, *args], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    rc, out, err = chartpod.helm_template(*args, release=RELEASE, namespace=NAMESPACE)
    assert rc == 0, err
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(out)
    rc, report = validate([str(rendered)])
    assert rc == 0, report
    sts = find([d for d in yaml.safe_load_all(out) if d], "StatefulSet")
    expected = {"type": "OnDelete"} if "OnDelete" in " ".join(args) else {"type": "RollingUpdate"}
    assert sts["spec"]["updateStrategy"] == expected


def test_examples_are_valid_kubernetes():
    rc, report = validate([ADOPTED, HIT_COUNTER, *BEFORE])
    assert rc == 0, report


def test_adopted_manifests_match_the_chart():
    r = subprocess.run([os.path.join(TUTORIAL, "generate.sh"), "--check"], capture_output=True,
                       text=True, env={**os.environ, "HELM": chartpod.helm()})
    assert r.returncode == 0, r.stdout + r.stderr


def test_edited_adopted_manifest_fails_the_drift_check(tmp_path):
    edited = tmp_path / "redis-cluster.yaml"
    with open(ADOPTED) as f:
        edited.write_text(f.read().replace("maxUnavailable: 1", "maxUnavailable: 2"))
    r = subprocess.run([os.path.join(TUTORIAL, "generate.sh"), "--check", str(edited)],
                       capture_output=True, text=True, env={**os.environ, "HELM": chartpod.helm()})
    assert r.returncode != 0 and "maxUnavailable: 2" in r.stdout, r.stdout + r.stderr


# ----- the tutorial's names: what lets the new StatefulSet take the old pods over -----

def test_names_reuse_the_tutorial_pods_and_claims():
    before = find(load(BEFORE[0]), "StatefulSet")
    for docs in (render(), load(ADOPTED)):
        sts = find(docs, "StatefulSet")
        spec = sts["spec"]
        # Pods <name>-N and claims <template>-<name>-N: the tutorial's, so they are reused.
        assert sts["metadata"]["name"] == before["metadata"]["name"]
        assert spec["replicas"] == before["spec"]["replicas"]
        claims = {c["metadata"]["name"]: c["spec"] for c in spec["volumeClaimTemplates"]}
        old = {c["metadata"]["name"]: c["spec"] for c in before["spec"]["volumeClaimTemplates"]}
        assert claims.keys() == old.keys()
        for name, claim in old.items():
            assert claims[name]["accessModes"] == claim["accessModes"]
            assert claims[name]["resources"] == claim["resources"]
        # The tutorial's StatefulSet (the way back) selects the new pods too.
        labels = spec["template"]["metadata"]["labels"]
        assert before["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert spec["podManagementPolicy"] == "Parallel"
        headless = find(docs, "Service", spec["serviceName"])
        assert headless["spec"]["clusterIP"] == "None"
        assert headless["spec"]["publishNotReadyAddresses"] is True
        # Redis keeps the data where the tutorial's did.
        pod = chartpod.PodSpec(docs)
        mounts = {m["name"]: m["mountPath"] for m in pod.container("redis")["volumeMounts"]}
        old_mounts = {m["name"]: m["mountPath"]
                      for m in before["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
        assert mounts["data"] == old_mounts["data"]
        agent_env = {e["name"]: e.get("value") for e in pod.container("agent")["env"]}
        assert agent_env["AGENT_PEER_HOST_TEMPLATE"] == \
            "redis-cluster-{ordinal}.redis-cluster-headless.default.svc.cluster.local"
        assert agent_env["AGENT_CLUSTER_NODES"] == str(before["spec"]["replicas"])


def test_redis_conf_keeps_the_tutorial_settings():
    old = dict(l.split(None, 1) for l in load(BEFORE[0])[0]["data"]["redis.conf"].splitlines()
               if l.strip())
    conf = find(render(), "ConfigMap", "redis-cluster")["data"]["redis.conf"]
    new = dict(l.split(None, 1) for l in conf.splitlines() if l.strip() and not l.startswith("#"))
    for key in ("cluster-enabled", "cluster-require-full-coverage", "cluster-node-timeout",
                "cluster-config-file", "appendonly", "protected-mode"):
        assert new[key] == old[key], key


def test_readme_labels_are_the_selector():
    argv = command("kubectl label pods -l app=redis-cluster")
    labels = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("app=redis"))
    for docs in (render(), load(ADOPTED)):
        selector = find(docs, "StatefulSet")["spec"]["selector"]["matchLabels"]
        assert labels == selector
        # The NetworkPolicy and the PodDisruptionBudget select the old pods by the same labels.
        assert find(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"] == selector
        assert find(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector


def test_readme_hands_helm_every_object_the_tutorial_has():
    """Every rendered object that has the name of a tutorial object (but the StatefulSet, which
    is deleted) must be annotated for the release in the README, and with its name."""
    tutorial = {(d["kind"], d["metadata"]["name"]) for f in BEFORE for d in load(f)}
    rendered = {(d["kind"], d["metadata"]["name"]) for d in render()}
    shared = {(k, n) for k, n in tutorial & rendered if k != "StatefulSet"}
    annotate = command("kubectl annotate")
    label = command("kubectl label service/")
    named = {a for a in annotate if "/" in a and "=" not in a}
    assert named == {f"{k.lower()}/{n}" for k, n in shared}
    assert named == {a for a in label if "/" in a and "=" not in a}
    assert f"meta.helm.sh/release-name={RELEASE}" in annotate
    assert f"meta.helm.sh/release-namespace={NAMESPACE}" in annotate
    assert "app.kubernetes.io/managed-by=Helm" in label



def test_readme_helm_install_runs(tmp_path):
    """The README's helm install, flags and all, as a client-side dry run (no cluster here):
    the flags exist in this Helm, the values pass the schema, the release is named right."""
    install = command("helm install")
    assert install[2] == RELEASE and install[install.index("-f") + 1] == "examples/tutorial/values.yaml"
    assert "updateStrategy.type=OnDelete" in install
    assert {"--take-ownership", "--force-conflicts"} <= set(install)
    r = subprocess.run([chartpod.helm(), *install[1:], "--dry-run=client", "--namespace",
                        NAMESPACE], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, "KUBECONFIG": os.devnull})
    assert r.returncode == 0, r.stderr
    sts = find([d for d in yaml.safe_load_all(r.stdout.split("\nNOTES:")[0].split("MANIFEST:", 1)[1]) if d],
               "StatefulSet")
    assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert sts["spec"]["template"]["spec"]["initContainers"][0]["image"].startswith("registry.example.com/")


def test_readme_sed_makes_the_plain_manifests_on_delete(tmp_path):
    argv = command("sed ")
    argv, pipe = argv[:argv.index("|")], argv[argv.index("|") + 1:]
    assert pipe == ["kubectl", "apply", "-f", "-"]
    with open(ADOPTED) as f:
        text = f.read()
    r = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    edited = tmp_path / "on-delete.yaml"
    edited.write_text(r.stdout)
    # One line changes: the StatefulSet's update strategy.
    changed = [(a, b) for a, b in zip(text.splitlines(), r.stdout.splitlines()) if a != b]
    assert len(changed) == 1, changed
    assert find(load(str(edited)), "StatefulSet")["spec"]["updateStrategy"] == {"type": "OnDelete"}
    rc, report = validate([str(edited)])
    assert rc == 0, report


def test_hit_counter_uses_the_client_service():
    docs = render("--set", "networkPolicy.allowExternal=false")
    client = next(d for d in docs if d["kind"] == "Service" and d["spec"].get("clusterIP") != "None")
    deploy = find(load(HIT_COUNTER), "Deployment")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["REDIS_SEEDS"] == f"{client['metadata']['name']}:{client['spec']['ports'][0]['port']}"
    # With allowExternal=false, the chart's NetworkPolicy lets in pods with its client label.
    rules = find(docs, "NetworkPolicy")["spec"]["ingress"]
    client_labels = [p["podSelector"]["matchLabels"] for r in rules for p in r.get("from", [])
                     if "podSelector" in p and not set(p["podSelector"]["matchLabels"]) &
                     set(client["spec"]["selector"])]
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert any(l.items() <= pod_labels.items() for l in client_labels), client_labels


# ----- the adopted pod spec takes a tutorial cluster over -----

def chown_like_the_readme(uid, gid):
    """README step 4's `chown -R 999:999 /data` on a pod's volume (here: its data dir)."""
    def chown(sts, i):
        for root, dirs, files in os.walk(sts.data_dir(i)):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(name, uid, gid)
    return chown


def ready(sts, i):
    try:
        return urllib.request.urlopen(f"http://{sts.pods[i].ip}:9839/readyz", timeout=2).status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.2)


def test_adopted_pod_spec_takes_over_a_tutorial_cluster(tmp_path):
    docs = load(ADOPTED)
    pod = chartpod.PodSpec(docs)
    runtime = podroot_runtime(docs)
    agent_env = {e["name"]: e.get("value") for e in pod.container("agent")["env"]}
    sts = TutorialStatefulSet(str(tmp_path / "sts"), pods=pod.replicas, replicas=1,
                              net=next_net(), runtime=runtime,
                              aliases=[agent_env["AGENT_PEER_HOST_TEMPLATE"]])
    STARTED.append(sts)
    uid, gid = pod.spec["securityContext"]["runAsUser"], pod.spec["securityContext"]["runAsGroup"]
    chown = command("kubectl exec redis-cluster-$n -- chown")
    assert chown[-2:] == [f"{uid}:{gid}", "/data"], "README's chown must give the files to Redis' user"
    env = sts.kubectl_standin(str(tmp_path / "bin"))
    try:
        sts.create_tutorial_cluster()
        client = sts.cluster_client(socket_timeout=5)
        for n in range(1000):
            client.set(f"tutorial:{n}", n)
        client.close()
        # The tutorial ran Redis as root: its files are root's. Storage that ignores fsGroup
        # (like this one) leaves them so, and Redis, now user 999, cannot write them.
        last = sts.size - 1
        sts.adopt_pod(last, env, wait=False)
        assert sts.pods[last].redis.wait(30), "Redis started on files it cannot write"
        with open(sts.redis_log(last) + ".out") as f:  # the redis container's output
            assert "Permission denied" in f.read().splitlines()[-1]
        sts.stop_pod(last)
        for i in reversed(range(sts.size)):
            if i != last:
                sts.adopt_pod(i, env, before_start=chown_like_the_readme(uid, gid))
            else:
                chown_like_the_readme(uid, gid)(sts, i)
                sts.start_pod(i, new_ip=True)
            wait(f"{sts.pods[i].name} ready", lambda: ready(sts, i), 120)
            assert sts.pods[i].redis.alive() and sts.pods[i].agent.alive()
        sts.wait_ready(timeout=60)
        clean, out = sts.cluster_check_clean()
        assert clean, out
        client = sts.cluster_client(socket_timeout=5)
        assert [int(client.get(f"tutorial:{n}")) for n in range(1000)] == list(range(1000))
        client.close()
        # Adopted for good: a pod back on a new address heals, by the map the agents learned.
        sts.restart_pod(2, new_ip=True)
        sts.wait_healthy(timeout=60)
    finally:
        sts.down()
