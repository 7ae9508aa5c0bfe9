"""The chart and the plain manifests, checked by the real tools: helm lint --strict, helm
template of the default values and of variants, every rendered object and every manifest
validated against the Kubernetes and prometheus-operator schemas (validate.js), promtool on
the rendered PrometheusRule, manifests/ regenerated and compared. Deliberately broken values
must fail these same checks, each at the stage that should catch it.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

import chartpod
from chartpod import CHART, REPO, find, helm_template

HERE = os.path.dirname(os.path.abspath(__file__))
VALIDATE = os.path.join(HERE, "validate.js")

METRICS_ON = ["--set", "metrics.scrapeAnnotations=true", "--set", "metrics.podMonitor.enabled=true",
              "--set", "metrics.serviceMonitor.enabled=true",
              "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.dashboard.enabled=true"]
AUTH = ["--set", "auth.enabled=true", "--set", "auth.existingSecret=redis-auth"]

VARIANTS = {
    "default": [],
    "classic-sidecar": ["--set", "agent.sidecarMode=classic"],
    "auto-on-kubernetes-1.28": ["--kube-version", "1.28.0"],
    "metrics-on": METRICS_ON,
    "metrics-off": ["--set", "metrics.scrapeAnnotations=false"],
    "auth": AUTH,
    "9-nodes-2-replicas": ["--set", "cluster.nodes=9", "--set", "cluster.replicas=2"],
    "everything-else": AUTH + METRICS_ON + [
        "--set", "persistence.enabled=false", "--set", "agent.mode=observe",
        "--set", "handover.enabled=false", "--set", "networkPolicy.allowExternal=false",
        "--set", "networkPolicy.clientNamespaceSelector.matchLabels.team=shop",
        "--set", "networkPolicy.metrics.podSelector.matchLabels.app=prometheus",
        "--set", "podAntiAffinityPreset=hard", "--set", "topologySpreadPreset=zone",
        "--set", "pdb.minAvailable=4", "--set", "persistentVolumeClaimRetentionPolicy.enabled=true",
        "--set", "redis.extraConfig=maxmemory 1gb", "--set", "agent.logFormat=json",
        "--set", "commonLabels.team=shop", "--set", "commonAnnotations.owner=sre",
        "--set", "serviceAccount.create=false"],
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
    assert env_of(agent)["AGENT_CLUSTER_NODES"] == str(sts["spec"]["replicas"])
    if name == "9-nodes-2-replicas":
        assert sts["spec"]["replicas"] == 9 and env_of(agent)["AGENT_CLUSTER_REPLICAS"] == "2"
    kinds = {d["kind"] for d in docs}
    monitoring = {"PodMonitor", "ServiceMonitor", "PrometheusRule"}
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
    "TLS asked for": (["--set", "tls.enabled=true"], "render"),
    "auth without a Secret": (["--set", "auth.enabled=true"], "render"),
    "probe period 0": (["--set", "agent.startupProbe.periodSeconds=0"], "lint"),
    "string where Kubernetes wants an integer": (["--set-string", "podSecurityContext.fsGroup=999"], "schema"),
    "unknown Kubernetes field": (["--set", "containerSecurityContext.readOnlyRootFilesystm=true"], "schema"),
    "invalid quantity type": (["--set", "redis.resources.limits.memory[0]=1Gi"], "schema"),
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


@pytest.mark.parametrize("name", ["default", "auth"])
def test_install_notes_render(name):
    """NOTES.txt, as `helm install` prints it (a client-side dry run needs no cluster)."""
    r = subprocess.run([chartpod.helm(), "install", "redis", CHART, "--dry-run=client",
                        *VARIANTS[name]], capture_output=True, text=True,
                       env={**os.environ, "KUBECONFIG": os.devnull})
    assert r.returncode == 0, r.stderr
    notes = r.stdout.split("NOTES:", 1)[1]
    assert "redis-cluster-agent status" in notes
    assert ("Secret redis-auth" in notes) == (name == "auth")
