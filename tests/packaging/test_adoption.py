"""Issue 18, packaging side: the chart with the tutorial's names (examples/tutorial/values.yaml),
its rendering for kubectl (examples/tutorial/redis-cluster.yaml) and the hit counter's manifest,
checked like the chart's other variants; the README's adoption commands checked against what
the chart renders; and the adopted pod spec, as it is, taking over a cluster built with the
tutorial's recipe on the local StatefulSet (README, "Coming from the tutorial").
"""
import base64
import copy
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

import chartpod
from chartpod import CHART, REPO, find
from conftest import next_net
from fakeapi import FakeApi
from localsts import Process
from test_chart import admits, live
from test_contract import podroot_runtime
from tutorial import TutorialStatefulSet, client_service_reaches

HERE = os.path.dirname(os.path.abspath(__file__))
TUTORIAL = os.path.join(REPO, "examples", "tutorial")
VALUES = os.path.join(TUTORIAL, "values.yaml")
ADOPTED = os.path.join(TUTORIAL, "redis-cluster.yaml")
BEFORE = [os.path.join(TUTORIAL, "before", f) for f in ("redis-sts.yaml", "redis-svc.yaml")]
HIT_COUNTER = os.path.join(REPO, "examples", "hit-counter", "hit-counter.yaml")
HIT_COUNTER_PASSWORD = os.path.join(REPO, "examples", "hit-counter", "password.yaml")
HIT_COUNTER_APP = os.path.join(REPO, "examples", "hit-counter", "hitcounter.py")
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


def readme_section(heading="## Coming from the tutorial"):
    """A README section: from its heading to the next heading of its level or above."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    level = heading.split()[0]
    section = text.split(f"\n{heading}\n", 1)[1]
    return re.split(r"\n#{1,%d} " % len(level), section, maxsplit=1)[0]


def sh_lines(block):
    """The commands of a ```sh block, continuation lines joined."""
    block = re.sub(r"\\\n\s*", " ", block)
    return [l.strip() for l in block.splitlines() if l.strip()]


def readme_commands():
    """The shell lines of README "Coming from the tutorial"."""
    return [l for b in re.findall(r"```sh\n(.*?)```", readme_section(), re.S) for l in sh_lines(b)]


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
        shape = next(d for d in docs if d["kind"] == "ConfigMap"
                     and d["metadata"]["name"].endswith("-shape"))["data"]["shape"]
        assert f"nodes: {before['spec']['replicas']}\n" in shape


def config_map_of(docs):
    """The ConfigMap the StatefulSet's pods mount as their redis.conf."""
    volumes = find(docs, "StatefulSet")["spec"]["template"]["spec"]["volumes"]
    return find(docs, "ConfigMap", next(v for v in volumes if v["name"] == "config")["configMap"]["name"])


def test_redis_conf_keeps_the_tutorial_settings():
    old = dict(l.split(None, 1) for l in load(BEFORE[0])[0]["data"]["redis.conf"].splitlines()
               if l.strip())
    conf = config_map_of(render())["data"]["redis.conf"]
    new = dict(l.split(None, 1) for l in conf.splitlines() if l.strip() and not l.startswith("#"))
    for key in ("cluster-enabled", "cluster-require-full-coverage", "cluster-node-timeout",
                "cluster-config-file", "appendonly", "protected-mode"):
        assert new[key] == old[key], key


def test_chart_takes_over_only_the_tutorial_service():
    """Of the tutorial's objects, the chart replaces the StatefulSet (deleted in step 2) and
    takes the Service over; its ConfigMap has a name of its own. Were it the tutorial's
    "redis-cluster", `helm install` would replace update-node.sh under the running tutorial
    pods, and one whose container restarted would not start again."""
    tutorial = {(d["kind"], d["metadata"]["name"]) for f in BEFORE for d in load(f)}
    tutorial_cm = find(load(BEFORE[0]), "ConfigMap")["metadata"]["name"]
    for docs in (render(), load(ADOPTED)):
        rendered = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert tutorial & rendered == {("StatefulSet", RELEASE), ("Service", RELEASE)}
        assert config_map_of(docs)["metadata"]["name"] == "redis-cluster-config" != tutorial_cm


def tutorial_pod_after_step_1():
    """The labels and container ports of a tutorial pod once README step 1 labelled it."""
    template = find(load(BEFORE[0]), "StatefulSet")["spec"]["template"]
    argv = command("kubectl label pods -l app=redis-cluster")
    labels = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("app=redis"))
    ports = [p for c in template["spec"]["containers"] for p in c["ports"]]
    return {**template["metadata"]["labels"], **labels}, ports


def test_client_service_reaches_the_tutorial_pods_from_step_3_on():
    """The chart's client Service replaces the tutorial's in step 3. It targets Redis' port by
    number, so the tutorial's pods (whose port is named "client") stay its endpoints until
    they are replaced: no window in which a client connecting through it finds nobody."""
    labels, ports = tutorial_pod_after_step_1()
    for docs in (render(), load(ADOPTED)):
        svc = find(docs, "Service", RELEASE)
        assert svc["spec"]["selector"].items() <= labels.items()
        target = svc["spec"]["ports"][0]["targetPort"]
        assert isinstance(target, int), f"targetPort {target!r} is a name the tutorial's pods lack"
        assert target in [p["containerPort"] for p in ports]
        redis_ports = chartpod.PodSpec(docs).container("redis")["ports"]
        assert target == next(p["containerPort"] for p in redis_ports if p["name"] == "redis")
    # The local StatefulSet of test_adopt.py resolves the Service the same way.
    assert client_service_reaches(chart_installed=True, adopted=False)
    assert client_service_reaches(chart_installed=True, adopted=True)


def test_values_keep_the_tutorial_access_during_the_adoption():
    """No password, 6379 open to every pod, no memory limit: what the tutorial's pods have, so
    the NetworkPolicy created in step 3 cuts off no client, replaced pods and tutorial pods
    work together, and a replaced pod needs no more memory or scheduling room than before."""
    labels, _ = tutorial_pod_after_step_1()
    for docs in (render(), load(ADOPTED)):
        assert not [d for d in docs if d["kind"] == "Secret"]
        pod = chartpod.PodSpec(docs)
        assert "password" not in [v["name"] for v in pod.spec["volumes"]]
        assert not [e for e in pod.container("agent")["env"] if "PASSWORD" in e["name"]]
        conf = config_map_of(docs)["data"]["redis.conf"]
        directives = [l.split()[0] for l in conf.splitlines() if l.strip() and not l.startswith("#")]
        assert "protected-mode no" in conf
        assert not {"requirepass", "masterauth"} & set(directives), directives
        redis = pod.container("redis")
        assert "resources" not in redis
        assert redis["command"] == ["redis-server", "/usr/local/etc/redis/redis.conf"]
        policy = find(docs, "NetworkPolicy")
        new = find(docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
        # The tutorial's app carries no label; clients in other namespaces had access too.
        assert admits(policy, {"app": "hit-counter"}, NAMESPACE, 6379)
        assert admits(policy, {}, "shop", 6379)
        # The policy covers old and new pods, and they reach each other: Redis, replication
        # and the cluster bus.
        for pod_labels in (labels, new):
            assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
            for port in (6379, 16379):
                assert admits(policy, pod_labels, NAMESPACE, port)
        # Only the release's pods reach the cluster bus and the agent port.
        assert not admits(policy, {"app": "hit-counter"}, NAMESPACE, 16379)
        assert not admits(policy, {"app": "hit-counter"}, NAMESPACE, 9839)


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


# ----- README "After the adoption": the chart's defaults, one edit and upgrade at a time -----

def after_the_adoption():
    """The code blocks of README "After the adoption", in order: ("sh", [commands]) or
    ("yaml", values)."""
    section = readme_section("### After the adoption")
    blocks = []
    for lang, body in re.findall(r"```(sh|yaml)\n(.*?)```", section, re.S):
        blocks.append((lang, sh_lines(body) if lang == "sh" else yaml.safe_load(body)))
    return blocks


def merged(base, edit):
    out = copy.deepcopy(base)
    for k, v in edit.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def workdir(tmp_path):
    """A directory where the README's relative paths (./charts, examples/) work."""
    for name in ("charts", "examples"):
        os.symlink(os.path.join(REPO, name), tmp_path / name)
    return tmp_path


def upgrade_against(cluster, argv, cwd):
    """A README `helm upgrade` as `helm template --is-upgrade`, with `lookup` answered by a fake
    API server holding `cluster` (Helm's upgrade itself needs the release's history):
    (returncode, rendered objects, stderr)."""
    assert argv[:3] == ["helm", "upgrade", RELEASE], argv
    with FakeApi(cluster) as api:
        r = subprocess.run([chartpod.helm(), "template", *argv[2:], "--namespace", NAMESPACE,
                            "--dry-run=server", "--disable-openapi-validation", "--is-upgrade",
                            "--kubeconfig", api.kubeconfig], capture_output=True, text=True,
                           cwd=cwd)
    docs = [d for d in yaml.safe_load_all(r.stdout) if d] if r.returncode == 0 else []
    return r.returncode, docs, r.stderr


def password_of(docs):
    return base64.b64decode(find(docs, "Secret", RELEASE)["data"]["redis-password"]).decode()


def test_readme_after_the_adoption_runs_against_the_adopted_cluster(tmp_path):
    """Each edit of README "After the adoption" and the upgrade after it, by real Helm, against
    the cluster the step before left: memory by a rolling update; authentication only with
    OnDelete (its rolling variant refused), then back to RollingUpdate with the password kept;
    an upgrade that forgot the edit refused; the NetworkPolicy closed to unlabelled clients."""
    cwd = workdir(tmp_path)
    blocks = after_the_adoption()
    assert blocks[0] == ("sh", ["cp examples/tutorial/values.yaml redis-cluster-values.yaml"])
    values = yaml.safe_load(open(VALUES))
    cluster = live(render())  # after step 5
    upgrades, deletes = [], []
    for lang, body in blocks[1:]:
        if lang == "yaml":
            values = merged(values, body)
            (cwd / "redis-cluster-values.yaml").write_text(yaml.safe_dump(values))
            continue
        for line in body:
            argv = shlex.split(line.split("#")[0])
            if argv[:2] == ["helm", "upgrade"]:
                rc, docs, err = upgrade_against(cluster, argv, cwd)
                upgrades.append((argv, rc, docs, err, cluster))
                if rc == 0:
                    cluster = live(docs)
            elif argv[:3] == ["kubectl", "delete", "pod"]:
                deletes.append(argv)
    assert len(upgrades) == 4, [u[0] for u in upgrades]
    for argv, rc, _, err, _ in upgrades:
        assert rc == 0, f"{shlex.join(argv)}:\n{err}"
    memory, auth_on, rolling, closed = (u[2] for u in upgrades)

    redis = chartpod.PodSpec(memory).container("redis")
    assert redis["resources"]["limits"]["memory"] == "2Gi" and redis["command"][0] == "sh"
    assert find(memory, "StatefulSet")["spec"]["updateStrategy"] == {"type": "RollingUpdate"}

    # Authentication: the chart's Secret, every pod restarted at once, then RollingUpdate again.
    sts = find(auth_on, "StatefulSet")
    assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert {"name": "password", "secret": {"secretName": RELEASE, "defaultMode": 0o440,
            "items": [{"key": "redis-password", "path": "password"}]}} in \
        sts["spec"]["template"]["spec"]["volumes"]
    argv, _, _, _, before = upgrades[1]
    i = argv.index("updateStrategy.type=OnDelete")
    rc, _, err = upgrade_against(before, argv[:i - 1] + argv[i + 1:], cwd)
    assert rc != 0 and "authentication would be turned on" in err, err
    assert len(deletes) == 1
    selector = dict(kv.split("=") for kv in deletes[0][deletes[0].index("-l") + 1].split(","))
    assert selector == sts["spec"]["selector"]["matchLabels"]
    assert find(rolling, "StatefulSet")["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert password_of(rolling) == password_of(auth_on) == password_of(closed)
    # An upgrade with the unedited values would turn it off again, by a rolling update.
    step5 = command("helm upgrade redis-cluster")
    rc, _, err = upgrade_against(live(rolling), step5, REPO)
    assert rc != 0 and "authentication would be turned off" in err, err

    # Only labelled clients: the hit counter is one of them, the tutorial's app is not.
    policy = find(closed, "NetworkPolicy")
    hit_counter = find(load(HIT_COUNTER), "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert admits(policy, hit_counter, NAMESPACE, 6379)
    assert not admits(policy, {"app": "hit-counter"}, NAMESPACE, 6379)
    assert chartpod.PodSpec(closed).container("redis") == chartpod.PodSpec(rolling).container("redis")


def test_readme_after_the_adoption_plain_manifests(tmp_path):
    """The plain-manifest rendering of README "After the adoption": the unedited copy renders
    what examples/tutorial/redis-cluster.yaml holds (applying it restarts nothing); with the
    edits, the password comes from the Secret the README has the user make, and the sed of
    the first apply makes it OnDelete."""
    cwd = workdir(tmp_path)
    blocks = after_the_adoption()
    lines = [l for lang, body in blocks if lang == "sh" for l in body]
    rendering = next(l for l in lines if l.startswith("helm template"))
    argv = shlex.split(rendering.split(">")[0])
    out_name = rendering.split(">")[1].strip()
    assert f"kubectl apply -f {out_name}" in lines

    def run(values):
        (cwd / "redis-cluster-values.yaml").write_text(yaml.safe_dump(values))
        r = subprocess.run([chartpod.helm(), *argv[1:]], capture_output=True, text=True, cwd=cwd)
        assert r.returncode == 0, r.stderr
        (cwd / out_name).write_text(r.stdout)
        return [d for d in yaml.safe_load_all(r.stdout) if d]

    values = yaml.safe_load(open(VALUES))
    unedited = run(values)
    # The registry differs, and so does the pod template's checksum the StatefulSet records.
    strip = lambda docs: re.sub(r"checksum/pod-template: [0-9a-f]{64}", "",
                                yaml.safe_dump_all(docs).replace("registry.example.com/", ""))
    assert strip(unedited) == strip(load(ADOPTED))

    for lang, body in blocks:
        if lang == "yaml":
            values = merged(values, body)
    docs = run(values)
    rc, report = validate([str(cwd / out_name)])
    assert rc == 0, report
    assert not [d for d in docs if d["kind"] == "Secret"]
    create = shlex.split(next(l for l in lines if l.startswith("kubectl create secret")))
    key = create[-1].split("=", 1)[1].split("=", 1)[0]
    volume = next(v for v in chartpod.PodSpec(docs).spec["volumes"] if v["name"] == "password")
    assert (create[4], key) == (volume["secret"]["secretName"], volume["secret"]["items"][0]["key"])
    sed = shlex.split(next(l for l in lines if l.startswith("sed ")))
    r = subprocess.run(sed[:sed.index("|")], capture_output=True, text=True, cwd=cwd)
    assert find([d for d in yaml.safe_load_all(r.stdout) if d], "StatefulSet")["spec"][
        "updateStrategy"] == {"type": "OnDelete"}


def patched_hit_counter(tmp_path):
    """hit-counter.yaml's Deployment with password.yaml applied, as `kubectl patch` does."""
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(yaml.safe_dump(find(load(HIT_COUNTER), "Deployment")))
    kubectl = os.path.join(os.path.dirname(chartpod.helm()), "kubectl")
    r = subprocess.run([kubectl, "patch", "--local", "-f", str(deployment), "--patch-file",
                        HIT_COUNTER_PASSWORD, "-o", "yaml"], capture_output=True, text=True,
                       env={**os.environ, "KUBECONFIG": os.devnull})
    assert r.returncode == 0, r.stderr
    deployment.write_text(r.stdout)
    return deployment, yaml.safe_load(r.stdout)


def test_hit_counter_password_patch_reads_the_chart_secret(tmp_path):
    assert command("kubectl patch deployment hit-counter") == \
        ["kubectl", "patch", "deployment", "hit-counter", "--patch-file", "examples/hit-counter/password.yaml"]
    path, deploy = patched_hit_counter(tmp_path)
    rc, report = validate([str(path)])
    assert rc == 0, report
    spec = deploy["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["REDIS_SEEDS"] == "redis-cluster:6379"  # the patch merges, it keeps the rest
    mount = next(m for m in container["volumeMounts"] if m["name"] == "redis-password")
    secret = next(v for v in spec["volumes"] if v["name"] == "redis-password")["secret"]
    item = secret["items"][0]
    assert env["REDIS_PASSWORD_FILE"] == f"{mount['mountPath']}/{item['path']}"
    # The Secret the chart makes once authentication is on.
    chart_secret = find(render("--set", "auth.enabled=true"), "Secret")
    assert secret["secretName"] == chart_secret["metadata"]["name"]
    assert list(chart_secret["data"]) == [item["key"]]
    # The file is readable by the hit counter's user (not root, no fsGroup).
    assert secret.get("defaultMode", 0o644) & 0o004


def test_hit_counter_authenticates_with_the_password_file(tmp_path):
    """hitcounter.py with REDIS_PASSWORD_FILE, as the patch sets it, against a Redis Cluster
    node that requires the password: counts; without the file it is refused."""
    ip = f"{next_net()}.9.1"
    (tmp_path / "password").write_text("s3cret-from-the-secret\n")
    procs = []
    try:
        redis = Process.spawn(["redis-server", "--bind", ip, "--port", "6379", "--save", "",
                               "--cluster-enabled", "yes", "--dir", str(tmp_path),
                               "--requirepass", "s3cret-from-the-secret"],
                              str(tmp_path / "redis.log"))
        procs.append(redis)
        cli = ["redis-cli", "-h", ip, "--no-auth-warning", "-a", "s3cret-from-the-secret"]
        wait("redis", lambda: subprocess.run([*cli, "PING"], capture_output=True,
                                             text=True).stdout.strip() == "PONG", 10)
        subprocess.run([*cli, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"], check=True,
                       capture_output=True)
        wait("cluster_state:ok", lambda: "cluster_state:ok" in subprocess.run(
            [*cli, "CLUSTER", "INFO"], capture_output=True, text=True).stdout, 10)
        results = {}
        for name, env in (("with", {"REDIS_PASSWORD_FILE": str(tmp_path / "password")}),
                          ("without", {})):
            log = str(tmp_path / f"hit-counter-{name}.log")
            app = Process.spawn([sys.executable, HIT_COUNTER_APP, "--seeds", f"{ip}:6379",
                                 "--bind", "127.0.0.1", "--port", "0"], log,
                                env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", **env})
            procs.append(app)
            wait("hit counter", lambda: open(log).readline().startswith("listening on "), 10)
            url = "http://" + open(log).readline().split()[-1] + "/"
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    results[name] = (r.status, r.read().decode())
            except urllib.error.HTTPError as e:
                results[name] = (e.code, e.read().decode())
        assert results["with"] == (200, "1\n"), results
        assert results["without"][0] == 503, results
        assert subprocess.run([*cli, "GET", "hits"], capture_output=True, text=True).stdout == "1\n"
    finally:
        for p in reversed(procs):
            p.stop()


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
