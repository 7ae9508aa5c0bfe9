"""The chart and the plain manifests, checked by the real tools: helm lint --strict, helm
template of the default values and of variants, every rendered object and every manifest
validated against the Kubernetes and prometheus-operator schemas (validate.js), promtool on
the rendered PrometheusRule, manifests/ regenerated and compared. Deliberately broken values
must fail these same checks, each at the stage that should catch it.

Then what a rendering means: selectors against labels, names against Kubernetes' limits, the
NetworkPolicy evaluated for the pods that should and should not get through, the chart as the
dependency of an umbrella chart, and the upgrade checks that read the cluster (`lookup`, run by
real Helm against fakeapi.py).
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

import chartpod
from chartpod import CHART, REPO, find, helm_template
from fakeapi import FakeApi

HERE = os.path.dirname(os.path.abspath(__file__))
VALIDATE = os.path.join(HERE, "validate.js")

METRICS_ON = ["--set", "metrics.scrapeAnnotations=true", "--set", "metrics.podMonitor.enabled=true",
              "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.dashboard.enabled=true"]
EXISTING_SECRET = ["--set", "auth.existingSecret=redis-auth"]
# The behaviour of chart 0.1 (README, "What changed in 0.2").
OLD_DEFAULTS = ["--set", "auth.enabled=false", "--set", "networkPolicy.allowExternal=true"]
# OpenShift's restricted policy assigns the user: the pod spec must name none.
PLATFORM_USER = ["--set", "podSecurityContext.runAsUser=null",
                 "--set", "podSecurityContext.runAsGroup=null",
                 "--set", "podSecurityContext.fsGroup=null"]
EXPORTER = ["--set", "sidecars[0].name=metrics",
            "--set", "sidecars[0].image=docker.io/oliver006/redis_exporter:v1.76.0",
            "--set", "sidecars[0].env[0].name=REDIS_ADDR",
            "--set", "sidecars[0].env[0].value=redis://127.0.0.1:6379",
            "--set", "sidecars[0].env[1].name=REDIS_PASSWORD",
            "--set-literal", "sidecars[0].env[1].valueFrom.secretKeyRef.name={{ include \"redis-cluster-agent.fullname\" . }}",
            "--set", "sidecars[0].env[1].valueFrom.secretKeyRef.key=redis-password",
            "--set", "sidecars[0].ports[0].name=http-exporter",
            "--set", "sidecars[0].ports[0].containerPort=9121",
            "--set", "metrics.podMonitor.extraEndpoints[0].port=http-exporter"]

TLS_SECRET = ["--set", "tls.enabled=true", "--set", "tls.existingSecret=redis-tls"]
TLS_CERT_MANAGER = ["--set", "tls.enabled=true", "--set", "tls.certManager.enabled=true",
                    "--set", "tls.certManager.issuerRef.name=cluster-ca",
                    "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"]

VARIANTS = {
    "default": [],
    "classic-sidecar": ["--set", "agent.sidecarMode=classic"],
    "auto-on-kubernetes-1.28": ["--kube-version", "1.28.0"],
    "metrics-on": METRICS_ON,
    "service-monitor": ["--set", "metrics.serviceMonitor.enabled=true"],
    "metrics-off": ["--set", "metrics.scrapeAnnotations=false"],
    "existing-secret": EXISTING_SECRET,
    "password-from-values": ["--set", "auth.password=from-values"],
    "old-defaults": OLD_DEFAULTS,
    "tls-off-explicitly": ["--set", "tls.enabled=false", "--set", "tls.existingSecret=redis-tls"],
    "tls-existing-secret": TLS_SECRET,
    "tls-cert-manager": TLS_CERT_MANAGER + ["--set", "tls.authClients=false",
                                            "--set", "tls.verify=chain"],
    "platform-assigns-the-user": PLATFORM_USER,
    "no-memory-limit": ["--set", "redis.resources=null"],
    "node-port": ["--set", "service.type=NodePort", "--set", "service.nodePorts.redis=30379",
                  "--set", "service.externalTrafficPolicy=Local"],
    "load-balancer": ["--set", "service.type=LoadBalancer",
                      "--set", "service.loadBalancerSourceRanges[0]=10.0.0.0/8"],
    "9-nodes-2-replicas": ["--set", "cluster.nodes=9", "--set", "cluster.replicas=2"],
    "scaling-hooks-off": ["--set", "scaling.hooks.enabled=false"],
    "valkey": ["--set", "server=valkey"],
    "valkey-tls-own-image": TLS_SECRET + ["--set", "server=valkey",
                                          "--set", "redis.image.repository=mirror/valkey",
                                          "--set", "redis.image.tag=8.0.1"],
    "everything-else": EXISTING_SECRET + METRICS_ON + EXPORTER + [
        "--set", "persistence.enabled=false", "--set", "agent.mode=observe",
        "--set", "handover.enabled=false", "--set", "terminationGracePeriodSeconds=15",
        "--set", "networkPolicy.clientNamespaceSelector.matchLabels.team=shop",
        "--set", "networkPolicy.metrics.podSelector.matchLabels.app=prometheus",
        "--set", "podAntiAffinityPreset=hard", "--set", "topologySpreadPreset=zone",
        "--set", "pdb.minAvailable=4", "--set", "persistentVolumeClaimRetentionPolicy.enabled=true",
        "--set", "redis.extraConfig=save 900 1", "--set", "redis.maxmemoryPolicy=allkeys-lru",
        "--set", "agent.logFormat=json",
        "--set", "commonLabels.team=shop", "--set", "commonAnnotations.owner=sre",
        "--set", "serviceAccount.create=false",
        "--set", "global.imageRegistry=registry.example.com",
        "--set", "global.imagePullSecrets[0]=regcred", "--set", "imagePullSecrets[0].name=agentcred",
        "--set", "initContainers[0].name=sysctl", "--set", "initContainers[0].image=busybox:1.36",
        "--set", "initContainers[0].command[0]=/bin/true",
        "--set", "redis.extraEnvFrom[0].configMapRef.name=redis-env",
        "--set", "agent.extraEnvFrom[0].secretRef.name=agent-env"],
}


def validate(paths):
    r = subprocess.run(["node", VALIDATE, *paths], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def promtool_rules(docs, tmp_path):
    """promtool check rules on every rendered PrometheusRule's spec."""
    results = []
    for i, rule in enumerate(d for d in docs if d["kind"] == "PrometheusRule"):
        path = tmp_path / f"rules-{i}.yaml"
        path.write_text(yaml.safe_dump(rule["spec"]))
        r = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
        results.append((r.returncode, r.stdout + r.stderr))
    return results


def run_checks(args, tmp_path, chart=CHART):
    """Every check of a rendering, in order. Returns (failed stage or None, output)."""
    r = subprocess.run([chartpod.helm(), "lint", "--strict", chart, *args], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return "lint", r.stdout + r.stderr
    rc, out, err = helm_template(*args, chart=chart)
    if rc != 0:
        return "render", err
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(out)
    rc, text = validate([str(rendered)])
    if rc != 0:
        return "schema", text
    for rc, text in promtool_rules([d for d in yaml.safe_load_all(out) if d], tmp_path):
        if rc != 0:
            return "promtool", text
    return None, out


def pod_spec(docs):
    return find(docs, "StatefulSet")["spec"]["template"]["spec"]


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_passes_every_check(name, tmp_path):
    failed, out = run_checks(VARIANTS[name], tmp_path)
    assert failed is None, f"{name}: {failed} failed:\n{out}"
    docs = [d for d in yaml.safe_load_all(out) if d]
    spec = pod_spec(docs)
    sidecars = [c["name"] for c in spec["initContainers"] if c.get("restartPolicy") == "Always"]
    classic = name in ("classic-sidecar", "auto-on-kubernetes-1.28")
    assert sidecars == ([] if classic else ["agent"])
    assert ("agent" in [c["name"] for c in spec["containers"]]) == classic
    agent = chartpod.PodSpec(docs).container("agent")
    sts = find(docs, "StatefulSet")
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    shape = next(d for d in docs if d["kind"] == "ConfigMap"
                 and d["metadata"]["name"].endswith("-shape"))["data"]["shape"]
    assert f"nodes: {sts['spec']['replicas']}\n" in shape
    if name == "9-nodes-2-replicas":
        assert sts["spec"]["replicas"] == 9 and "replicas: 2\n" in shape
    kinds = {d["kind"] for d in docs}
    monitoring = {"PodMonitor", "PrometheusRule"}
    assert (monitoring <= kinds) == (METRICS_ON[1] in VARIANTS[name])
    if "PrometheusRule" in kinds:
        dashboard = next(d for d in docs if d["metadata"]["name"].endswith("-dashboard"))
        assert json.loads(dashboard["data"]["redis-cluster-agent.json"])["panels"]


def test_security_defaults():
    docs = chartpod.render()
    spec = pod_spec(docs)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 999
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for c in spec["initContainers"] + spec["containers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
    headless = next(d for d in docs if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None")
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert find(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    redis = chartpod.PodSpec(docs).container("redis")
    assert redis["image"] == "docker.io/library/redis:7.0.15"
    # A dead agent must never restart Redis: Redis' liveness does not use the agent's port.
    assert "exec" in redis["livenessProbe"]
    grace = spec["terminationGracePeriodSeconds"]
    assert grace >= 20 + 10, "must cover the handover and Redis' shutdown-timeout"
    # Authentication is on, with the chart's own random password, mounted as a file.
    secret = find(docs, "Secret")
    password = base64.b64decode(secret["data"]["redis-password"]).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
    volume = next(v for v in spec["volumes"] if v["name"] == "password")
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert env_of(chartpod.PodSpec(docs).container("agent"))["AGENT_REDIS_PASSWORD_FILE"]
    conf = redis_conf(docs)
    assert "protected-mode yes" in conf and not re.search(r"^(requirepass|masterauth)", conf, re.M)
    # Only the release's pods and labelled clients reach Redis.
    policy = find(docs, "NetworkPolicy")
    assert not admits(policy, {"app": "shop"}, "default", 6379)
    # Redis has a memory limit and a maxmemory below it.
    assert redis["resources"]["limits"]["memory"] == redis["resources"]["requests"]["memory"]
    assert "--maxmemory" in redis["command"][2]


def test_password_is_a_file_the_kubelet_refreshes():
    """Rotation needs the mounted file to change in place: every container that reads the
    password mounts the Secret's directory (a subPath mount never sees a new Secret), and no
    container gets it as an environment variable (read once, at start)."""
    for docs in (chartpod.render(), chartpod.render("--set", "agent.sidecarMode=classic")):
        pod = chartpod.PodSpec(docs)
        spec = pod_spec(docs)
        test_pod = next(d for d in docs if d["kind"] == "Pod")["spec"]
        prepare = next(c for c in pod.init_containers() if c["name"] == "prepare")
        readers = [prepare, pod.container("agent")] + test_pod["containers"]
        for c in readers:
            mount = next(m for m in c["volumeMounts"] if m["name"] == "password")
            assert "subPath" not in mount, c["name"]
            assert mount["readOnly"] is True
        for c in spec["initContainers"] + spec["containers"] + test_pod["containers"]:
            for e in c.get("env", []):
                assert "secretKeyRef" not in e.get("valueFrom", {}), (c["name"], e)
        assert env_of(pod.container("agent"))["AGENT_REDIS_PASSWORD_FILE"].startswith(
            next(m for m in pod.container("agent")["volumeMounts"]
                 if m["name"] == "password")["mountPath"] + "/")


def test_size_changes_no_pod_template_field():
    """cluster.nodes and cluster.replicas reach the agents through the shape ConfigMap they
    follow while running (--shape-file): changing the size changes the StatefulSet's replicas
    and that ConfigMap, never the pod template (which would restart every pod)."""
    base = ("--set", "auth.password=fixed-for-the-comparison")
    six = chartpod.render(*base)
    for change in (("--set", "cluster.nodes=8"), ("--set", "cluster.nodes=9",
                                                  "--set", "cluster.replicas=2")):
        other = chartpod.render(*base, *change)
        a, b = find(six, "StatefulSet"), find(other, "StatefulSet")
        assert yaml.safe_dump(a["spec"]["template"]) == yaml.safe_dump(b["spec"]["template"])
        assert a["metadata"]["annotations"] == b["metadata"]["annotations"]
        assert b["spec"]["replicas"] == int(change[1].split("=")[1])
    shape = find(chartpod.render(*base, "--set", "cluster.nodes=9", "--set",
                                 "cluster.replicas=2"), "ConfigMap", "redis-redis-cluster-agent-shape")
    assert shape["data"]["shape"] == "nodes: 9\nreplicas: 2\n"
    pod = chartpod.PodSpec(six)
    for c in (next(c for c in pod.init_containers() if c["name"] == "prepare"),
              pod.container("agent")):
        mount = next(m for m in c["volumeMounts"] if m["name"] == "shape")
        assert "subPath" not in mount and mount["readOnly"] is True  # subPath never updates
        assert env_of(c)["AGENT_SHAPE_FILE"] == mount["mountPath"] + "/shape"
        assert "AGENT_CLUSTER_NODES" not in env_of(c)


def test_chart_metadata():
    """What `helm search` and artifact hubs show: maintainers, sources, keywords, the
    Kubernetes versions the chart supports."""
    meta = yaml.safe_load(open(os.path.join(CHART, "Chart.yaml")))
    assert meta["apiVersion"] == "v2" and meta["type"] == "application"
    assert meta["maintainers"] and all(m["name"] and "@" in m["email"] for m in meta["maintainers"])
    assert meta["sources"] and all(u.startswith("https://") for u in meta["sources"])
    assert {"redis", "redis-cluster"} <= set(meta["keywords"])
    assert meta["kubeVersion"].startswith(">=1.25")


def redis_conf(docs):
    return next(d for d in docs if d["kind"] == "ConfigMap" and "redis.conf" in d["data"])["data"]["redis.conf"]


def test_old_defaults_stay_one_value_away():
    """auth.enabled=false and networkPolicy.allowExternal=true give back chart 0.1's behaviour."""
    docs = chartpod.render(*OLD_DEFAULTS)
    assert not [d for d in docs if d["kind"] == "Secret"]
    assert "password" not in [v["name"] for v in pod_spec(docs)["volumes"]]
    assert "AGENT_REDIS_PASSWORD_FILE" not in env_of(chartpod.PodSpec(docs).container("agent"))
    assert "protected-mode no" in redis_conf(docs)
    assert admits(find(docs, "NetworkPolicy"), {"app": "shop"}, "other", 6379, {"team": "x"})


def test_manifests_are_valid_kubernetes():
    paths = sorted(os.path.join(REPO, "manifests", f) for f in os.listdir(os.path.join(REPO, "manifests")))
    rc, out = validate(paths)
    assert rc == 0, out


def test_manifests_match_the_chart():
    r = subprocess.run([os.path.join(REPO, "scripts", "generate-manifests.sh"), "--check"],
                       capture_output=True, text=True, env={**os.environ, "HELM": chartpod.helm()})
    assert r.returncode == 0, r.stdout + r.stderr


# ----- a check that cannot fail is no check: broken inputs, and the stage that catches them -----

BROKEN = {
    "tutorial typo ClusterlP": (["--set", "service.type=ClusterlP"], "lint"),
    "misspelt value key": (["--set", "cluster.node=6"], "lint"),
    # The chart's own checks call `fail`, which helm lint only reports as INFO: render catches them.
    "fewer than 3 masters": (["--set", "cluster.replicas=2"], "render"),
    "TLS without certificates": (["--set", "tls.enabled=true"], "render"),
    "TLS from a Secret and cert-manager": (TLS_SECRET + TLS_CERT_MANAGER[2:], "render"),
    "cert-manager without an issuer": (["--set", "tls.enabled=true",
                                        "--set", "tls.certManager.enabled=true"], "render"),
    "unknown TLS verification": (TLS_SECRET + ["--set", "tls.verify=none"], "lint"),
    "unknown tls key": (["--set", "tls.certificate=x"], "lint"),
    "password twice": (["--set", "auth.password=x", "--set", "auth.existingSecret=redis-auth"], "render"),
    "PodMonitor and ServiceMonitor": (["--set", "metrics.podMonitor.enabled=true",
                                       "--set", "metrics.serviceMonitor.enabled=true"], "lint"),
    "grace period shorter than handover + shutdown": (["--set", "terminationGracePeriodSeconds=39"], "render"),
    "handover timeout the agent refuses": (["--set", "handover.timeout=500ms"], "render"),
    "maxmemory in extraConfig while it follows the limit": (["--set", "redis.extraConfig=maxmemory 1gb"], "render"),
    "chart-managed directive in extraConfig": (["--set", "redis.extraConfig=appendonly no"], "render"),
    "pod name directive in extraConfig": (["--set", "server=valkey", "--set",
                                           "redis.extraConfig=cluster-announce-human-nodename x"], "render"),
    "unknown server": (["--set", "server=keydb"], "lint"),
    "valkey on the Redis image": (["--set", "server=valkey", "--set", "redis.image.tag=7.2.4"], "render"),
    "valkey on its own image with the Redis tag": (["--set", "server=valkey",
                                                    "--set", "redis.image.repository=mirror/valkey"], "render"),
    "node port on a ClusterIP Service": (["--set", "service.nodePorts.redis=30379"], "render"),
    "source ranges on a NodePort Service": (["--set", "service.type=NodePort",
                                            "--set", "service.loadBalancerSourceRanges[0]=10.0.0.0/8"], "render"),
    "fullnameOverride too long for the pods' labels": (["--set", "fullnameOverride=" + "r" * 53], "lint"),
    "probe period 0": (["--set", "agent.startupProbe.periodSeconds=0"], "lint"),
    "string where Kubernetes wants an integer": (["--set-string", "podSecurityContext.fsGroup=999"], "schema"),
    "unknown Kubernetes field": (["--set", "containerSecurityContext.readOnlyRootFilesystm=true"], "schema"),
    "invalid quantity type": (["--set", "redis.resources.limits.memory[0]=1Gi"], "schema"),
    "hook Job deadline within the verb's wait": (["--set", "scaling.hooks.activeDeadlineSeconds=600"],
                                                "render"),
    "negative hook backoff": (["--set", "scaling.hooks.backoffLimit=-1"], "lint"),
    "unknown scaling hooks key": (["--set", "scaling.hooks.timeout=5m"], "lint"),
    "invalid hook resources": (["--set", "scaling.hooks.resources.limits.memory[0]=1Gi"], "schema"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_value_fails_the_checks(name, tmp_path):
    args, stage = BROKEN[name]
    failed, out = run_checks(args, tmp_path)
    assert failed == stage, f"{name}: expected the {stage} check to fail, got {failed}:\n{out[-2000:]}"


def test_broken_alert_rule_fails_promtool(tmp_path):
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    alerts = chart / "files" / "alerts.yaml"
    text = alerts.read_text()
    good = "(redis_cluster_agent_cluster_slots_ok) < 16384"
    assert good in text
    alerts.write_text(text.replace(good, "(redis_cluster_agent_cluster_slots_ok < 16384"))
    failed, out = run_checks(["--set", "metrics.prometheusRule.enabled=true"], tmp_path, chart=str(chart))
    assert failed == "promtool", out[-2000:]


def test_edited_manifest_fails_the_drift_check(tmp_path):
    copy = tmp_path / "manifests"
    shutil.copytree(os.path.join(REPO, "manifests"), copy)
    f = copy / "10-redis-cluster.yaml"
    f.write_text(f.read_text().replace("maxUnavailable: 1", "maxUnavailable: 2"))
    r = subprocess.run([os.path.join(REPO, "scripts", "generate-manifests.sh"), "--check", str(copy)],
                       capture_output=True, text=True, env={**os.environ, "HELM": chartpod.helm()})
    assert r.returncode != 0 and "maxUnavailable: 2" in r.stdout


def test_readme_values_table_is_current():
    r = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "values-table.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# variant: (lines its NOTES must have, lines they must not have)
NOTES = {
    "valkey": (["Server:       valkey-server (docker.io/valkey/valkey:8.0); its cluster log lines name",
                "(cluster mode, e.g. valkey-cli -c)"], ["redis-cli", "redis-server"]),
    "default": (["Secret redis-redis-cluster-agent, key redis-password",
                 "`helm template` (and tools built on it",
                 "Only pods of namespace default labelled redis-redis-cluster-agent-client=true"],
                ["WARNING", "Password:     none", "kubectl label namespace"]),
    "existing-secret": (["Secret redis-auth, key redis-password"], ["`helm template`"]),
    "password-from-values": (["WARNING: auth.password is stored in the Helm release"],
                             ["`helm template`"]),
    "old-defaults": (["Password:     none"], ["Only pods of namespace", "Secret redis"]),
    "metrics-on": (["kubectl label namespace <prometheus-namespace> redis-cluster-agent-scrape=true"],
                   []),
    "node-port": (["Allow outside\nclients with networkPolicy.extraIngress ipBlock rules"], []),
}


@pytest.mark.parametrize("name", list(NOTES))
def test_install_notes_render(name):
    """NOTES.txt, as `helm install` prints it (a client-side dry run needs no cluster)."""
    r = subprocess.run([chartpod.helm(), "install", "redis", CHART, "--dry-run=client",
                        *VARIANTS[name]], capture_output=True, text=True,
                       env={**os.environ, "KUBECONFIG": os.devnull})
    assert r.returncode == 0, r.stderr
    notes = r.stdout.split("NOTES:", 1)[1]
    assert "redis-cluster-agent status" in notes
    present, absent = NOTES[name]
    for line in present:
        assert line in notes, notes
    for line in absent:
        assert line not in notes, notes


# ----- labels and selectors -----

def label_selectors(docs):
    """(where, matchLabels) of every label selector that picks the release's Redis pods."""
    found = []
    for d in docs:
        kind, spec = d["kind"], d.get("spec", {})
        if kind == "StatefulSet":
            found.append(("StatefulSet", spec["selector"]["matchLabels"]))
            affinity = spec["template"]["spec"].get("affinity", {}).get("podAntiAffinity", {})
            for term in affinity.get("requiredDuringSchedulingIgnoredDuringExecution", []):
                found.append(("anti-affinity (hard)", term["labelSelector"]["matchLabels"]))
            for term in affinity.get("preferredDuringSchedulingIgnoredDuringExecution", []):
                found.append(("anti-affinity (soft)",
                              term["podAffinityTerm"]["labelSelector"]["matchLabels"]))
            for c in spec["template"]["spec"].get("topologySpreadConstraints", []):
                found.append(("topology spread", c["labelSelector"]["matchLabels"]))
        elif kind in ("PodDisruptionBudget", "PodMonitor"):
            found.append((kind, spec["selector"]["matchLabels"]))
        elif kind == "Service":
            found.append((f"Service {d['metadata']['name']}", spec["selector"]))
        elif kind == "NetworkPolicy":
            found.append(("NetworkPolicy", spec["podSelector"]["matchLabels"]))
    return found


def matches(match_labels, labels):
    return all(labels.get(k) == v for k, v in match_labels.items())


@pytest.mark.parametrize("variant", ["default", "everything-else"])
def test_test_pod_matches_no_selector_of_the_redis_pods(variant):
    """The helm test pod must not count as a Redis pod: not in the PodDisruptionBudget (a pod
    without a controller there blocks every drain), not behind the Services (dead scrape and
    client targets), not in the anti-affinity (it would repel Redis pods)."""
    args = VARIANTS[variant] + ["--set", "topologySpreadPreset=zone", "--set",
                                "podAntiAffinityPreset=hard", "--set", "metrics.podMonitor.enabled=true"]
    docs = chartpod.render(*args)
    test_pod = find(docs, "Pod")
    redis_pod = find(docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    selectors = label_selectors(docs)
    assert {w for w, _ in selectors} >= {"StatefulSet", "PodDisruptionBudget", "PodMonitor",
                                          "anti-affinity (hard)", "topology spread",
                                          "NetworkPolicy"}
    for where, sel in selectors:
        assert matches(sel, redis_pod), where
        assert not matches(sel, test_pod["metadata"]["labels"]), f"the test pod matches {where}"
    # It still gets through the NetworkPolicy to every node's Redis, as a client.
    assert admits(find(docs, "NetworkPolicy"), test_pod["metadata"]["labels"], "default", 6379)


# ----- the scaling hooks -----

@pytest.mark.parametrize("variant", ["default", "tls-existing-secret", "platform-assigns-the-user",
                                     "existing-secret"])
def test_scaling_hooks_run_the_verb_as_the_agents_would(variant):
    """helm upgrade (and rollback) runs `scale --drain-only` before the StatefulSet changes and
    `scale` after it, as Jobs in the agent's image with the agent's connection settings: the
    seed is pod 0 by name, the password and TLS files are the same mounted Secrets (never a
    variable), the pod runs as the Redis pods do (non-root, read-only root), bounded, and is no
    Redis pod for any selector. Only the hooks' own NetworkPolicy lets them in."""
    docs = chartpod.render(*VARIANTS[variant], "--set", "cluster.nodes=8")
    pod = chartpod.PodSpec(docs)
    agent = pod.container("agent")
    template = env_of(agent)["AGENT_PEER_HOST_TEMPLATE"]
    pre, post = chartpod.hook_job(docs, "pre-upgrade"), chartpod.hook_job(docs, "post-upgrade")
    assert chartpod.hook_job(docs, "pre-rollback") is pre
    assert chartpod.hook_job(docs, "post-rollback") is post
    for job, drain in ((pre, True), (post, False)):
        meta = job["metadata"]
        assert meta["annotations"]["helm.sh/hook-delete-policy"] == \
            "before-hook-creation,hook-succeeded"  # a failed Job keeps its log
        assert job["spec"]["backoffLimit"] == 1 and job["spec"]["activeDeadlineSeconds"] == 3600
        spec = job["spec"]["template"]["spec"]
        assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
        assert spec["securityContext"] == pod.spec["securityContext"]
        (c,) = spec["containers"]
        assert c["image"] == agent["image"] and c["command"] == [
            "/opt/redis-cluster-agent/bin/redis-cluster-agent"]
        assert c["args"][:7] == ["scale", "--to", "8", "--replicas", "1", "--timeout", "600"]
        assert ("--drain-only" in c["args"]) == drain
        env = env_of(c)
        assert env["AGENT_REDIS_ADDR"] == template.replace("{ordinal}", "0") + ":6379"
        assert env["AGENT_PEER_HOST_TEMPLATE"] == template
        assert all("valueFrom" not in e for e in c["env"])
        for name, value in env_of(agent).items():
            if name.startswith("AGENT_TLS") or name == "AGENT_REDIS_PASSWORD_FILE":
                assert env[name] == value, name
        assert ("AGENT_TLS" in env) == (variant == "tls-existing-secret")
        agent_mounts = {m["name"]: m for m in agent["volumeMounts"]}
        for m in c["volumeMounts"]:
            assert m == agent_mounts[m["name"]] and m["readOnly"] is True and "subPath" not in m
        volumes = {v["name"]: v for v in pod.spec["volumes"]}
        assert all(v == volumes[v["name"]] for v in spec["volumes"])
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["resources"]["limits"]["memory"] == "128Mi"
        labels = job["spec"]["template"]["metadata"]["labels"]
        for where, sel in label_selectors(docs):
            assert not matches(sel, labels), f"the hook pod matches {where}"
    hooks_policy = find(docs, "NetworkPolicy", pre["metadata"]["name"][:-len("drain")] + "scale")
    labels = pre["spec"]["template"]["metadata"]["labels"]
    assert hooks_policy["spec"]["podSelector"] == find(docs, "NetworkPolicy")["spec"]["podSelector"]
    assert admits(hooks_policy, labels, "default", 6379)
    assert admits(hooks_policy, labels, "default", 9839)
    assert not admits(hooks_policy, labels, "default", 16379)
    assert not admits(find(docs, "NetworkPolicy"), labels, "default", 9839)
    assert not admits(hooks_policy, {"app": "shop"}, "default", 6379)
    weight = lambda d: int(d["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight(hooks_policy) < weight(pre) and weight(hooks_policy) < weight(post)
    assert set(hooks_policy["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {
        "pre-upgrade", "post-upgrade", "pre-rollback", "post-rollback"}


@pytest.mark.parametrize("args", [["--set", "scaling.hooks.enabled=false"],
                                  ["--set", "agent.mode=observe"]])
def test_no_scaling_hooks_when_off_or_observing(args):
    docs = chartpod.render(*args)
    assert not [d for d in docs if chartpod.upgrade_hook(d)]


def test_scaling_hook_settings_reach_the_jobs():
    docs = chartpod.render("--set", "scaling.hooks.waitSeconds=900",
                           "--set", "scaling.hooks.activeDeadlineSeconds=7200",
                           "--set", "scaling.hooks.backoffLimit=0",
                           "--set", "scaling.hooks.extraArgs[0]=--batch-keys",
                           "--set-string", "scaling.hooks.extraArgs[1]=500",
                           "--set", "agent.httpPort=9840", "--set", "cluster.replicas=2",
                           "--set", "cluster.nodes=9", "--set", "networkPolicy.enabled=false")
    for hook in ("pre-upgrade", "post-upgrade"):
        job = chartpod.hook_job(docs, hook)
        assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 7200
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[:9] == ["scale", "--to", "9", "--replicas", "2", "--timeout", "900",
                            "--agent-port", "9840"]
        assert args[-2:] == ["--batch-keys", "500"]
    assert [d["kind"] for d in docs if chartpod.upgrade_hook(d)] == ["Job", "Job"]


# ----- names -----

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LONGEST = "a" * 42 + "-release-53"  # Helm's longest release name: 53 characters


def label_maps(obj, path=""):
    """Every metadata.labels map in an object (pod and claim templates included)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("metadata"), dict) and "labels" in obj["metadata"]:
            yield path, obj["metadata"]["labels"]
        for k, v in obj.items():
            yield from label_maps(v, f"{path}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from label_maps(v, f"{path}/{i}")


@pytest.mark.parametrize("release", [LONGEST, "redis", "redis-cluster-agent-prod"])
def test_every_name_fits_kubernetes_limits(release):
    assert len(LONGEST) == 53
    docs = chartpod.render(release=release, namespace="team-with-a-long-namespace-name")
    sts = find(docs, "StatefulSet")
    name = sts["metadata"]["name"]
    # Pods get the label controller-revision-hash=<name>-<10 characters> (a label value: <= 63).
    assert len(name) <= 52 and DNS_1035.match(name), name
    services = [d["metadata"]["name"] for d in docs if d["kind"] == "Service"]
    assert len(set(services)) == len(services) == 2, services
    for s in services:
        assert len(s) <= 63 and DNS_1035.match(s), s
    headless = next(d for d in docs if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None")
    assert sts["spec"]["serviceName"] == headless["metadata"]["name"]
    # The agents find each other by the names Kubernetes gives the pods.
    template = env_of(chartpod.PodSpec(docs).container("agent"))["AGENT_PEER_HOST_TEMPLATE"]
    assert template == (f"{name}-{{ordinal}}.{headless['metadata']['name']}"
                        ".team-with-a-long-namespace-name.svc.cluster.local")
    last_pod = f"{name}-{sts['spec']['replicas'] - 1}"
    assert all(len(label) <= 63 for label in template.replace("{ordinal}", "99").split("."))
    assert len(last_pod) <= 63
    for d in docs:
        assert len(d["metadata"]["name"]) <= 63, d["metadata"]["name"]
        for where, labels in label_maps(d):
            for k, v in labels.items():
                assert len(k.split("/")[-1]) <= 63 and len(str(v)) <= 63, (d["kind"], where, k, v)


@pytest.mark.parametrize("release", [LONGEST, "redis"])
def test_pods_mount_the_config_map_of_their_own_name_and_serve_by_port_number(release):
    """The ConfigMap is "<fullname>-config", never "<fullname>", the name a StatefulSet's own
    ConfigMap usually has (the tutorial's: taking it over breaks pods the chart does not run
    yet). The client Service targets Redis' port by number, so a pod serving Redis there is an
    endpoint whatever it names the port (the tutorial's pods, README step 3)."""
    docs = chartpod.render(release=release)
    full = find(docs, "StatefulSet")["metadata"]["name"]
    volume = next(v for v in pod_spec(docs)["volumes"] if v["name"] == "config")
    config = find(docs, "ConfigMap", volume["configMap"]["name"])
    assert config["metadata"]["name"] == f"{full}-config"
    assert "redis.conf" in config["data"]
    svc = find(docs, "Service", full)
    redis_port = next(p["containerPort"] for p in chartpod.PodSpec(docs).container("redis")["ports"]
                      if p["name"] == "redis")
    assert svc["spec"]["ports"][0]["targetPort"] == redis_port
    assert isinstance(svc["spec"]["ports"][0]["targetPort"], int)


def test_long_release_names_stay_distinct_and_stable():
    a, b = "x" * 52 + "1", "x" * 52 + "2"
    name = lambda release: find(chartpod.render(release=release), "StatefulSet")["metadata"]["name"]
    assert name(a) != name(b)
    assert name(a) == name(a)


def test_release_name_that_is_no_service_name_fails_clearly():
    rc, _, err = helm_template(release="shop.redis")
    assert rc != 0 and "set fullnameOverride" in err, err


# ----- NetworkPolicy, evaluated -----

def selector_matches(sel, labels):
    if not matches(sel.get("matchLabels", {}), labels):
        return False
    for e in sel.get("matchExpressions", []):
        value, op = labels.get(e["key"]), e["operator"]
        if (op == "In" and value not in e["values"]) or (op == "NotIn" and value in e["values"]) \
                or (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def admits(policy, labels, namespace, port, ns_labels=None, policy_ns="default"):
    """Whether the NetworkPolicy lets a pod (labels, namespace) reach a selected pod's port, as
    Kubernetes evaluates it: any rule whose ports and peers both match."""
    ns_labels = {**(ns_labels or {}), "kubernetes.io/metadata.name": namespace}
    for rule in policy["spec"].get("ingress", []):
        if "ports" in rule and port not in [p["port"] for p in rule["ports"]]:
            continue
        if "from" not in rule:
            return True
        for peer in rule["from"]:
            if "ipBlock" in peer:
                continue
            if "namespaceSelector" in peer:
                ns_ok = selector_matches(peer["namespaceSelector"], ns_labels)
            else:
                ns_ok = namespace == policy_ns
            pod_ok = selector_matches(peer.get("podSelector", {}), labels)
            if ns_ok and pod_ok:
                return True
    return False


SCRAPE = {"redis-cluster-agent-scrape": "true"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus"}


def test_network_policy_defaults_admit_only_what_needs_to_connect():
    docs = chartpod.render()
    policy = find(docs, "NetworkPolicy")
    own = find(docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    client = {"redis-redis-cluster-agent-client": "true"}
    for port in (6379, 16379, 9839):
        assert admits(policy, own, "default", port)
    assert admits(policy, client, "default", 6379)
    assert not admits(policy, client, "default", 16379)
    assert not admits(policy, client, "other", 6379)  # the label counts in the release's namespace
    assert not admits(policy, {"app": "shop"}, "default", 6379)
    # Prometheus, wherever it runs, once its namespace carries the label; the agent port only.
    assert admits(policy, PROMETHEUS, "observability", 9839, SCRAPE)
    assert admits(policy, PROMETHEUS, "monitoring", 9839, SCRAPE)
    assert not admits(policy, PROMETHEUS, "monitoring", 9839)
    assert not admits(policy, PROMETHEUS, "observability", 6379, SCRAPE)


def test_network_policy_wider_settings_are_one_value_away():
    policy = lambda *a: find(chartpod.render(*a), "NetworkPolicy")
    assert admits(policy("--set", "networkPolicy.allowExternal=true"), {}, "other", 6379)
    everywhere = policy("--set-json", 'networkPolicy.metrics.namespaceSelector={"matchExpressions":'
                                      '[{"key":"kubernetes.io/metadata.name","operator":"Exists"}]}')
    assert admits(everywhere, PROMETHEUS, "anywhere", 9839)
    by_name = policy("--set-json", 'networkPolicy.metrics.namespaceSelector={"matchLabels":'
                                   '{"kubernetes.io/metadata.name":"monitoring"}}')
    assert admits(by_name, PROMETHEUS, "monitoring", 9839)
    assert not admits(by_name, PROMETHEUS, "observability", 9839, SCRAPE)  # replaced, not merged
    only_prometheus = policy("--set-json", 'networkPolicy.metrics.podSelector={"matchLabels":'
                                           '{"app.kubernetes.io/name":"prometheus"}}')
    assert admits(only_prometheus, PROMETHEUS, "monitoring", 9839, SCRAPE)
    assert not admits(only_prometheus, {"app": "grafana"}, "monitoring", 9839, SCRAPE)
    team = policy("--set", "networkPolicy.clientNamespaceSelector.matchLabels.team=shop")
    assert admits(team, {}, "shop", 6379, {"team": "shop"})
    assert not admits(team, {}, "other", 6379)


# ----- the time budget -----

@pytest.mark.parametrize("values,shortest", [
    ([], 40),  # handover 20s + 5s, shutdown-timeout 10s, 5s for the save
    (["--set", "handover.timeout=1m", "--set", "redis.shutdownTimeout=30"], 100),
    (["--set", "handover.enabled=false"], 15),
    (["--set", "handover.timeout=2500ms"], 23),
])
def test_grace_period_must_cover_handover_and_shutdown(values, shortest):
    ok = lambda grace: helm_template(*values, "--set", f"terminationGracePeriodSeconds={grace}")
    assert ok(shortest)[0] == 0, ok(shortest)[2]
    rc, _, err = ok(shortest - 1)
    assert rc != 0 and f"terminationGracePeriodSeconds={shortest - 1} is too short" in err, err
    assert f"need {shortest}s" in err and f"at least {shortest}" in err, err


# ----- Redis' memory -----

def test_maxmemory_follows_the_memory_limit(tmp_path):
    """The redis container's command, run by a POSIX sh with the limit the downward API gives:
    redis-server gets maxmemory = 80% of it, after the config file, plus any extra arguments."""
    docs = chartpod.render("--set", "redis.resources.limits.memory=3Gi")
    redis = chartpod.PodSpec(docs).container("redis")
    env = next(e for e in redis["env"] if e["name"] == "REDIS_MEMORY_LIMIT")
    assert env["valueFrom"]["resourceFieldRef"] == {"containerName": "redis", "resource": "limits.memory"}
    fake = tmp_path / "redis-server"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    limit = 3 * 2**30
    r = subprocess.run([*redis["command"], "--bind", "10.0.0.1"], capture_output=True, text=True,
                       env={"PATH": f"{tmp_path}:/usr/bin:/bin", "REDIS_MEMORY_LIMIT": str(limit)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["/usr/local/etc/redis/redis.conf", "--maxmemory",
                                str(limit * 80 // 100), "--bind", "10.0.0.1"]
    assert "maxmemory-policy noeviction" in redis_conf(docs)


@pytest.mark.parametrize("values", [["--set", "redis.resources=null"],
                                    ["--set", "redis.maxmemoryPercent=0",
                                     "--set", "redis.extraConfig=maxmemory 1gb"]])
def test_no_derived_maxmemory_without_a_limit_or_when_turned_off(values):
    redis = chartpod.PodSpec(chartpod.render(*values)).container("redis")
    assert redis["command"] == ["redis-server", "/usr/local/etc/redis/redis.conf"]
    assert "REDIS_MEMORY_LIMIT" not in env_of(redis)


# ----- the rest of the knobs -----

def test_common_labels_and_annotations_reach_every_object_and_template():
    docs = chartpod.render("--set", "commonLabels.team=shop", "--set", "commonAnnotations.owner=sre",
                           "--set", "metrics.podMonitor.enabled=true")
    for d in docs:
        for where, labels in label_maps(d):
            assert labels.get("team") == "shop", (d["kind"], where)
        assert d["metadata"].get("annotations", {}).get("owner") == "sre", d["kind"]
    claim = find(docs, "StatefulSet")["spec"]["volumeClaimTemplates"][0]["metadata"]
    assert claim["annotations"]["owner"] == "sre"
    # The claim template is immutable: nothing that changes with the chart's version.
    assert not {"helm.sh/chart", "app.kubernetes.io/version"} & set(claim["labels"])


def test_images_pull_secrets_sidecars_and_env_from():
    docs = chartpod.render(*VARIANTS["everything-else"])
    spec = pod_spec(docs)
    images = {c["name"]: c["image"] for c in spec["initContainers"] + spec["containers"]}
    assert images["redis"] == "registry.example.com/library/redis:7.0.15"
    assert images["agent"].startswith("registry.example.com/redis-cluster-agent:")
    assert spec["imagePullSecrets"] == [{"name": "regcred"}, {"name": "agentcred"}]
    assert find(docs, "Pod")["spec"]["imagePullSecrets"] == spec["imagePullSecrets"]
    assert [c["name"] for c in spec["initContainers"]][:2] == ["sysctl", "prepare"]
    assert [c["name"] for c in spec["containers"]] == ["redis", "metrics"]
    exporter = spec["containers"][1]
    # Templates in sidecars are rendered: the exporter reads the chart's own password Secret.
    ref = next(e for e in exporter["env"] if e["name"] == "REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "redis-redis-cluster-agent"
    endpoints = find(docs, "PodMonitor")["spec"]["podMetricsEndpoints"]
    assert [e["port"] for e in endpoints] == ["http-agent", "http-exporter"]
    by_name = {c["name"]: c for c in spec["initContainers"] + spec["containers"]}
    assert by_name["redis"]["envFrom"] == [{"configMapRef": {"name": "redis-env"}}]
    for name in ("prepare", "agent"):
        assert by_name[name]["envFrom"] == [{"secretRef": {"name": "agent-env"}}]


def test_service_exposure_knobs():
    svc = lambda *a: next(d for d in chartpod.render(*a) if d["kind"] == "Service"
                          and d["spec"].get("clusterIP") != "None")["spec"]
    default = svc()
    assert default["type"] == "ClusterIP" and "externalTrafficPolicy" not in default
    node_port = svc(*VARIANTS["node-port"])
    assert node_port["ports"][0]["nodePort"] == 30379
    assert node_port["externalTrafficPolicy"] == "Local"
    lb = svc(*VARIANTS["load-balancer"])
    assert lb["loadBalancerSourceRanges"] == ["10.0.0.0/8"]


def test_global_default_storage_class_is_read_not_ignored():
    """global.defaultStorageClass is the claims' class unless persistence.storageClass is set;
    without either the claim names none (the cluster's default class)."""
    claim = lambda *a: find(chartpod.render(*a), "StatefulSet")["spec"]["volumeClaimTemplates"][0]["spec"]
    assert "storageClassName" not in claim()
    assert claim("--set", "global.defaultStorageClass=fast")["storageClassName"] == "fast"
    assert claim("--set", "global.defaultStorageClass=fast",
                 "--set", "persistence.storageClass=local")["storageClassName"] == "local"


def test_platform_assigned_user_leaves_the_ids_out():
    docs = chartpod.render(*PLATFORM_USER)
    for spec in (pod_spec(docs), find(docs, "Pod")["spec"]):
        assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(spec["securityContext"])
        assert spec["securityContext"]["runAsNonRoot"] is True


# ----- the chart inside an umbrella chart -----

def umbrella(tmp_path, values):
    parent = tmp_path / "shop"
    (parent / "templates").mkdir(parents=True)
    version = yaml.safe_load(open(os.path.join(CHART, "Chart.yaml")))["version"]
    (parent / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "shop", "version": "1.0.0", "dependencies": [{
            "name": "redis-cluster-agent", "version": version, "repository": f"file://{CHART}",
            "condition": "redis-cluster-agent.enabled"}]}))
    (parent / "values.yaml").write_text(yaml.safe_dump(values))
    (parent / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-shop\n")
    env = {**os.environ, **{f"HELM_{k}_HOME": str(tmp_path / k.lower()) for k in ("CACHE", "CONFIG", "DATA")}}
    r = subprocess.run([chartpod.helm(), "dependency", "update", str(parent)], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return str(parent)


@pytest.mark.parametrize("enabled", [True, False])
def test_umbrella_chart_with_a_condition_and_globals(tmp_path, enabled):
    parent = umbrella(tmp_path, {
        "global": {"imageRegistry": "registry.example.com", "imagePullSecrets": ["regcred"],
                   "storageClass": "used-by-another-subchart"},
        "redis-cluster-agent": {"enabled": enabled}})
    failed, out = run_checks([], tmp_path, chart=parent)
    assert failed is None, f"{failed}:\n{out}"
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert bool([d for d in docs if d["kind"] == "StatefulSet"]) == enabled
    if enabled:
        spec = pod_spec(docs)
        assert spec["imagePullSecrets"] == [{"name": "regcred"}]
        assert all(c["image"].startswith("registry.example.com/")
                   for c in spec["initContainers"] + spec["containers"])


# ----- upgrade checks that read the cluster (lookup) -----

def template_against(cluster, *args, upgrade=True):
    """`helm template` with `lookup` answered by a fake API server holding cluster's objects."""
    with FakeApi(cluster) as api:
        r = subprocess.run([chartpod.helm(), "template", "redis", CHART, "--namespace", "default",
                            "--dry-run=server", "--disable-openapi-validation",
                            "--kubeconfig", api.kubeconfig, *(["--is-upgrade"] if upgrade else []),
                            *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def live(docs):
    """The cluster after installing these rendered objects: {(apiVersion, kind, ns, name): obj}."""
    return {(d["apiVersion"], d["kind"], "default", d["metadata"]["name"]): d for d in docs
            if d["kind"] in ("StatefulSet", "Secret")}


def rendered_password(out):
    secret = find([d for d in yaml.safe_load_all(out) if d], "Secret")
    return base64.b64decode(secret["data"]["redis-password"]).decode()


def test_upgrade_keeps_the_generated_password():
    installed = chartpod.render()
    password = rendered_password(yaml.safe_dump_all(installed))
    rc, out, err = template_against(live(installed))
    assert rc == 0, err
    assert rendered_password(out) == password
    # Without a cluster (plain `helm template`) there is nothing to keep: a new one each time.
    assert rendered_password(yaml.safe_dump_all(chartpod.render())) != password


def their_secret(password, name="redis-auth"):
    return {("v1", "Secret", "default", name): {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "data": {"redis-password": base64.b64encode(password.encode()).decode()}}}


ROLLS = ["--set", "agent.logLevel=debug"]  # any change of the pod template


@pytest.mark.parametrize("before,after,refusal", [
    (OLD_DEFAULTS, [], "authentication would be turned on"),
    ([], ["--set", "auth.enabled=false"], "authentication would be turned off"),
    ([], ["--set", "auth.password=another", *ROLLS],
     "auth.password differs from the one the pods use (Secret redis-redis-cluster-agent key "
     "redis-password), and the upgrade also changes the pod template"),
    (EXISTING_SECRET, [], "a new random one would replace the one in Secret redis-auth"),
    (EXISTING_SECRET, ["--set", "auth.existingSecret=other-auth"],
     "Secret other-auth key redis-password differs from the one the pods use"),
])
def test_upgrade_refuses_to_roll_pods_onto_another_password(before, after, refusal):
    """What a rolling update cannot do: turn authentication on or off, or restart the pods onto
    another password one at a time (another Secret, or a new password with other changes)."""
    installed = chartpod.render(*before)
    cluster = live(installed)
    cluster.update(their_secret("theirs"))
    cluster.update(their_secret("not theirs", name="other-auth"))
    rc, _, err = template_against(cluster, *after)
    assert rc != 0 and refusal in err, err
    assert "Changing authentication on a running cluster" in err
    # The same change is the user's to make with a full restart (updateStrategy OnDelete) ...
    rc, _, err = template_against(cluster, *after, "--set", "updateStrategy.type=OnDelete")
    assert rc == 0, err
    # ... and no change at all passes.
    rc, _, err = template_against(cluster, *before)
    assert rc == 0, err


def pod_template_and_sum(docs):
    sts = find(docs, "StatefulSet")
    return sts["spec"]["template"], sts["metadata"]["annotations"]["checksum/pod-template"]


@pytest.mark.parametrize("before,after", [
    ([], ["--set", "auth.password=rotated"]),                      # the generated one -> a new one
    (["--set", "auth.password=old"], ["--set", "auth.password=rotated"]),
])
def test_upgrade_with_a_new_password_alone_rotates_without_restarts(before, after):
    """A new auth.password and nothing else: the upgrade passes, the chart's Secret carries the
    new password, and the pod template is unchanged (no pod restarts): the kubelet refreshes
    the mounted file and the agents rotate the cluster to it (e2e_rotation)."""
    installed = chartpod.render(*before)
    rc, out, err = template_against(live(installed), *after)
    assert rc == 0, err
    assert rendered_password(out) == "rotated"
    upgraded = [d for d in yaml.safe_load_all(out) if d]
    assert pod_template_and_sum(upgraded) == pod_template_and_sum(installed)
    # The refusal's premise: the same password with any other change does restart the pods.
    rolled = chartpod.render(*before, *ROLLS)
    assert pod_template_and_sum(rolled)[1] != pod_template_and_sum(installed)[1]


def upgrade_notes(tmp_path, cluster, *args):
    """NOTES.txt of an upgrade with `lookup` answered by the fake API server. `helm template`
    prints no NOTES, so a copy of the chart renders them into a ConfigMap."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "NOTES.txt").unlink()
    (chart / "templates" / "_notes.tpl").write_text(
        '{{- define "notes" -}}\n' + notes + '\n{{- end -}}\n')
    (chart / "templates" / "notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n"
        '  notes: {{ include "notes" . | quote }}\n')
    with FakeApi(cluster) as api:
        r = subprocess.run([chartpod.helm(), "template", "redis", str(chart), "--namespace",
                            "default", "--dry-run=server", "--disable-openapi-validation",
                            "--kubeconfig", api.kubeconfig, "--is-upgrade", *args],
                           capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return find([d for d in yaml.safe_load_all(r.stdout) if d], "ConfigMap", "notes")["data"]["notes"]


def test_upgrade_notes_say_how_a_new_password_moves_in(tmp_path):
    """A password-only upgrade's NOTES say that no pod restarts and how to follow the rotation;
    a full-restart change (OnDelete) keeps the warning to restart every pod at once."""
    cluster = live(chartpod.render("--set", "auth.password=old"))
    notes = upgrade_notes(tmp_path, cluster, "--set", "auth.password=rotated")
    assert "The password changes (the password would change: auth.password differs" in notes
    assert "no pod restarts" in notes and "redis-cluster-agent status" in notes
    assert "restart every pod" not in notes, notes
    notes = upgrade_notes(tmp_path / "2", cluster, "--set", "auth.password=rotated", *ROLLS,
                          "--set", "updateStrategy.type=OnDelete")
    assert "WARNING: the password would change" in notes and "restart every pod at\nonce" in notes
    notes = upgrade_notes(tmp_path / "3", cluster, "--set", "auth.enabled=false",
                          "--set", "updateStrategy.type=OnDelete")
    assert "WARNING: authentication would be turned off" in notes, notes
    assert "toggle:" not in notes


def test_upgrade_from_a_statefulset_without_the_pod_template_sum():
    """A StatefulSet from an older chart has no checksum/pod-template: the upgrade restarts its
    pods (the template differs), so a new password in it is refused; the same password passes."""
    installed = chartpod.render("--set", "auth.password=old")
    cluster = live(installed)
    del find(list(cluster.values()), "StatefulSet")["metadata"]["annotations"]["checksum/pod-template"]
    rc, _, err = template_against(cluster, "--set", "auth.password=rotated")
    assert rc != 0 and "the running StatefulSet was made by an older chart" in err, err
    rc, _, err = template_against(cluster, "--set", "auth.password=old")
    assert rc == 0, err


def test_upgrade_with_the_same_password_from_values_passes():
    installed = chartpod.render("--set", "auth.password=same")
    rc, out, err = template_against(live(installed), "--set", "auth.password=same")
    assert rc == 0, err
    assert rendered_password(out) == "same"


def test_tls_from_a_secret():
    """TLS only: no plaintext port, the bus and replication on TLS, every container that talks
    to Redis mounts the Secret, the agents get the files; the kubelet's probes stay plain HTTP."""
    docs = chartpod.render(*TLS_SECRET)
    conf = find(docs, "ConfigMap", "redis-redis-cluster-agent-config")["data"]["redis.conf"].splitlines()
    for line in ("port 0", "tls-port 6379", "tls-cluster yes", "tls-replication yes",
                 "tls-auth-clients yes",
                 "tls-cert-file /run/secrets/redis-cluster-agent-tls/tls.crt",
                 "tls-key-file /run/secrets/redis-cluster-agent-tls/tls.key",
                 "tls-ca-cert-file /run/secrets/redis-cluster-agent-tls/ca.crt"):
        assert line in conf
    assert "port 6379" not in conf
    spec = pod_spec(docs)
    tls_volume = next(v for v in spec["volumes"] if v["name"] == "tls")
    assert tls_volume["secret"]["secretName"] == "redis-tls"
    pod = chartpod.PodSpec(docs)
    containers = {c["name"]: c for c in spec["initContainers"] + spec["containers"]}
    for name in ("prepare", "agent", "redis"):
        mounts = {m["name"]: m for m in containers[name]["volumeMounts"]}
        assert mounts["tls"]["mountPath"] == "/run/secrets/redis-cluster-agent-tls", name
        assert "subPath" not in mounts["tls"], "a subPath mount never sees a rotated Secret"
    for name in ("prepare", "agent"):
        env = env_of(containers[name])
        assert env["AGENT_TLS"] == "on" and env["AGENT_TLS_VERIFY"] == "name"
        assert env["AGENT_TLS_CERT_FILE"].endswith("/tls.crt")
    redis = pod.container("redis")
    assert "--tls --cacert" in redis["livenessProbe"]["exec"]["command"][2]
    assert "httpGet" in redis["readinessProbe"]
    assert all("httpGet" in pod.container("agent")[p] for p in ("startupProbe", "livenessProbe"))
    test_pod = next(d for d in docs if d["kind"] == "Pod")
    assert "--tls=on" in test_pod["spec"]["containers"][0]["args"]
    assert not [d for d in docs if d["kind"] == "Certificate"]
    plain = find(chartpod.render(), "ConfigMap", "redis-redis-cluster-agent-config")["data"]["redis.conf"].splitlines()
    assert "port 6379" in plain and not [l for l in plain if l.startswith("tls-")]


def test_tls_from_cert_manager():
    """The Certificate covers what clients and agents dial: every pod's name (a wildcard under
    the headless Service), the client Service, and loopback."""
    docs = chartpod.render(*TLS_CERT_MANAGER, release="shop", namespace="prod")
    cert = find(docs, "Certificate")
    assert cert["spec"]["secretName"] == "shop-redis-cluster-agent-tls"
    names = cert["spec"]["dnsNames"]
    assert "*.shop-redis-cluster-agent-headless.prod.svc.cluster.local" in names
    assert {"shop-redis-cluster-agent.prod.svc", "localhost"} <= set(names)
    assert cert["spec"]["ipAddresses"] == ["127.0.0.1", "::1"]
    assert {"server auth", "client auth"} <= set(cert["spec"]["usages"])
    assert cert["spec"]["issuerRef"] == {"name": "cluster-ca", "kind": "ClusterIssuer",
                                         "group": "cert-manager.io"}
    tls_volume = next(v for v in pod_spec(docs)["volumes"] if v["name"] == "tls")
    assert tls_volume["secret"]["secretName"] == cert["spec"]["secretName"]
    agent = chartpod.PodSpec(docs).container("agent")
    template = env_of(agent)["AGENT_PEER_HOST_TEMPLATE"]
    assert "*." + template.split(".", 1)[1] in names


# ----- server: redis | valkey -----

def server_commands(docs):
    """Every command line the pod runs in its redis container (command, liveness probe), joined."""
    redis = chartpod.PodSpec(docs).container("redis")
    probe = redis.get("livenessProbe", {}).get("exec", {}).get("command", [])
    return " ".join(redis["command"] + redis.get("args", []) + probe)


@pytest.mark.parametrize("args,image", [
    ([], "docker.io/valkey/valkey:8.0"),
    (["--set", "global.imageRegistry=registry.example.com"], "registry.example.com/valkey/valkey:8.0"),
    (["--set", "redis.image.repository=mirror/valkey", "--set", "redis.image.tag=8.0.1"],
     "docker.io/mirror/valkey:8.0.1"),
    (["--set", "redis.image.digest=sha256:" + "a" * 64, "--set", "redis.image.repository=valkey/valkey"],
     "docker.io/valkey/valkey@sha256:" + "a" * 64),
    (["--set", "redis.resources=null"], "docker.io/valkey/valkey:8.0"),
])
def test_server_valkey_runs_valkey_in_its_image(args, image):
    """server=valkey: the official image unless redis.image is the user's, valkey-server and
    valkey-cli wherever the pod calls the server (with and without the maxmemory shell), and
    AGENT_SERVER for prepare, which names the pod in the include for Valkey only."""
    docs = chartpod.render("--set", "server=valkey", *args)
    spec = chartpod.PodSpec(docs)
    assert spec.container("redis")["image"] == image
    commands = server_commands(docs)
    assert "valkey-server" in commands and "valkey-cli" in commands, commands
    assert "redis-server" not in commands and "redis-cli" not in commands, commands
    for c in [spec.container("agent")] + [i for i in spec.init_containers() if i["name"] == "prepare"]:
        assert env_of(c)["AGENT_SERVER"] == "valkey", c["name"]


def test_server_redis_is_the_default_and_unchanged():
    docs = chartpod.render()
    spec = chartpod.PodSpec(docs)
    assert spec.container("redis")["image"] == "docker.io/library/redis:7.0.15"
    commands = server_commands(docs)
    assert "redis-server" in commands and "redis-cli" in commands, commands
    assert "valkey" not in commands
    # The agent's default (redis): no variable, so the pods of existing releases do not roll.
    assert "AGENT_SERVER" not in env_of(spec.container("agent"))
    # redis.conf is the same file for both servers; only the pod spec differs.
    conf = lambda d: find(d, "ConfigMap", "redis-redis-cluster-agent-config")["data"]["redis.conf"]
    assert conf(docs) == conf(chartpod.render("--set", "server=valkey"))


@pytest.mark.parametrize("args,words", [
    (["--set", "redis.image.tag=7.2.4"], ["library/redis does not have", "valkey/valkey"]),
    (["--set", "redis.image.repository=mirror/valkey"], ["redis.image.tag is still", "7.0.15"]),
])
def test_server_valkey_on_a_redis_image_fails_with_what_to_set(args, words):
    rc, _, err = helm_template("--set", "server=valkey", *args)
    assert rc != 0
    for w in words:
        assert w in err, err
