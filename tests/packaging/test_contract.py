"""Contract test: the chart's rendered pod spec, run as it is on the local StatefulSet.

Command, args, env, volume mounts and security context of every container come from
`helm template`; only what Kubernetes supplies is filled in (chartpod.py). So the flags and
variables the chart passes, the paths it mounts, the user it runs as and the redis.conf it
writes must all work with the agent binary of this build, or the cluster does not form. The
scaling hook Jobs run the same way, around the StatefulSet's new size in helm's order
(helm_upgrade): 6 -> 8 -> 6 pods, and 6 -> 8 over TLS (~100 s and ~10 s, 3000 keys).
"""
import base64
import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

import certs
import chartpod
import scaling
from conftest import MODULE_NET, TLS_MODULE_NET, new_sts
from localsts import agent_binary
from wait import wait_for

# Contract values: names matching the local StatefulSet (redis-N.redis-headless.default...) and a
# short node timeout as in the end-to-end tests. Everything else is the chart's defaults: auth on
# with the chart's own random password (the Secret mounted as a file, the 0600 include),
# maxmemory from the memory limit.
VALUES = ["--set", "fullnameOverride=redis", "--set", "cluster.nodeTimeout=5000"]
# OpenShift's restricted policy: the pod spec names no user, the platform assigns one from the
# namespace's range, with group 0 and that fsGroup.
PLATFORM = {"runAsUser": 1000680000, "runAsGroup": 0, "fsGroup": 1000680000}
# Endpoints the chart's probes and monitors use that the agent does not serve yet; the probes
# and metrics work adds them. The test requires this set to be exact, so it shrinks as they land.
PENDING_ENDPOINTS = set()

STARTED = []  # local StatefulSets of this module, for the logs of a failed test


def password_of(docs):
    """The password of the chart's own Secret, as the pods will read it."""
    secret = chartpod.find(docs, "Secret")
    return base64.b64decode(secret["data"]["redis-password"]).decode()


def podroot_runtime(docs, platform=None, secrets=None):
    spec = chartpod.PodSpec(docs)
    agent_ref = spec.container("agent")["image"]
    redis_ref = spec.container("redis")["image"]
    agent_path = "/opt/redis-cluster-agent/bin:" + chartpod.DEFAULT_PATH
    runner = chartpod.PodrootRunner({
        agent_ref: (chartpod.agent_image_files(agent_binary()), {"PATH": agent_path}),
        redis_ref: ([], {"PATH": chartpod.DEFAULT_PATH}),
    })
    return chartpod.ChartRuntime(docs, runner, platform=platform, secrets=secrets)


@contextlib.contextmanager
def running(sts):
    """The StatefulSet up and healthy for the block, stopped (by pid) after it."""
    STARTED.append(sts)
    try:
        sts.up()
        sts.wait_healthy(timeout=60)
        yield sts
    finally:
        sts.down()


@pytest.fixture(scope="module")
def docs():
    return chartpod.render(*VALUES)


@pytest.fixture(scope="module")
def cluster(docs, tmp_path_factory):
    sts = new_sts(str(tmp_path_factory.mktemp("contract") / "sts"), docs, podroot_runtime(docs),
                  password=password_of(docs), node_timeout=5000, net=MODULE_NET, server="redis")
    with running(sts):
        yield sts


TLS_SECRET = "redis-tls"


@pytest.fixture(scope="module")
def tls_docs():
    return chartpod.render(*VALUES, "--set", "tls.enabled=true",
                           "--set", f"tls.existingSecret={TLS_SECRET}")


@pytest.fixture(scope="module")
def tls_cluster(tls_docs, tmp_path_factory):
    """The chart's TLS variant (tls.enabled, tls.existingSecret): its Secret holds a certificate
    made by openssl for the pods' names, as an operator or cert-manager would make it; the
    test's clients use the same files."""
    base = tmp_path_factory.mktemp("contract-tls")
    pods = certs.make_cert(certs.make_ca(str(base / "ca")), str(base / "pods"))
    secret = {}
    for name in ("ca.crt", "tls.crt", "tls.key"):
        with open(os.path.join(pods, name)) as f:
            secret[name] = f.read()
    sts = new_sts(str(base / "sts"), tls_docs,
                  podroot_runtime(tls_docs, secrets={TLS_SECRET: secret}),
                  password=password_of(tls_docs), node_timeout=5000, net=TLS_MODULE_NET,
                  server="redis", tls=pods)
    with running(sts):
        yield sts


def cluster_of(variant, request):
    """The module's running StatefulSet of a variant ("plain" or "tls") and its rendered docs."""
    if variant == "tls":
        return request.getfixturevalue("tls_cluster"), request.getfixturevalue("tls_docs")
    return request.getfixturevalue("cluster"), request.getfixturevalue("docs")


@pytest.fixture
def valkey_cluster(tmp_path):
    """The chart's pod with server=valkey (valkey-server, valkey-cli, AGENT_SERVER=valkey), on
    Valkey 8.0.1 (the Debian package on this machine, as the stand-in image carries it)."""
    docs = chartpod.render(*VALUES, "--set", "server=valkey")
    sts = new_sts(str(tmp_path / "sts"), docs, podroot_runtime(docs), password=password_of(docs),
                  node_timeout=5000, server="valkey")
    with running(sts):
        yield sts, docs


def proc_ids(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def server_exe(pid):
    """The name of the program a process exec'd last (the redis container's sh -c execs the
    server; Debian's redis-server and valkey-server are links to one binary, so not /exe)."""
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


@pytest.mark.parametrize("server", ["redis", "valkey"])
def test_chart_invocation_forms_the_cluster(server, request):
    if server == "redis":
        cluster, docs = request.getfixturevalue("cluster"), request.getfixturevalue("docs")
    else:
        cluster, docs = request.getfixturevalue("valkey_cluster")
    rc, out = cluster.status()
    assert rc == 0, out
    pod_sc = chartpod.find(docs, "StatefulSet")["spec"]["template"]["spec"]["securityContext"]
    for p in cluster.pods:
        assert p.agent.alive() and p.redis.alive()
        assert proc_ids(p.agent.pid) == (pod_sc["runAsUser"], pod_sc["runAsGroup"])
        assert proc_ids(p.redis.pid) == (pod_sc["runAsUser"], pod_sc["runAsGroup"])
        assert server_exe(p.redis.pid) == f"{server}-server", p.name
    # requirepass reached Redis through prepare's include: no password, no service.
    r = subprocess.run([f"{server}-cli", "-h", cluster.pods[0].ip, "ping"], capture_output=True,
                       text=True)
    assert r.stdout.startswith("NOAUTH"), r.stdout + r.stderr
    # The password is a file, never an argument or a variable.
    password = password_of(docs).encode()
    for p in cluster.pods:
        for proc in (p.agent, p.redis):
            for what in ("cmdline", "environ"):
                with open(f"/proc/{proc.pid}/{what}", "rb") as f:
                    assert password not in f.read(), (p.name, what)
    # AGENT_SERVER reached prepare: Valkey names every node's pod (in every nodes.conf, by
    # gossip); Redis 7.0 would refuse the directive, and its include has none.
    for p in cluster.pods:
        named = f'cluster-announce-human-nodename "{p.name}"' in pod_file(
            cluster, docs, p.ordinal, "AGENT_INCLUDE_FILE")
        assert named == (server == "valkey"), p.name
    if server == "valkey":
        wait_for("pod names in nodes.conf", lambda: all(
            f"nodename={q.name}," in pod_file(cluster, docs, 0, "AGENT_NODES_CONF")
            for q in cluster.pods), 30)


def pod_file(sts, docs, i, variable):
    """The text of the file the agent's `variable` names, from pod i's volume that holds it."""
    agent = chartpod.PodSpec(docs).container("agent")
    path = {e["name"]: e.get("value") for e in agent["env"]}[variable]
    mount = next(m for m in agent["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    host = sts.runtime.volumes(i)[mount["name"]]
    with open(os.path.join(host, path[len(mount["mountPath"]) + 1:])) as f:
        return f.read()


def test_redis_gets_maxmemory_from_its_memory_limit_and_protected_mode(cluster, docs):
    """The redis container's command computes maxmemory from the limit the downward API gives
    (80% by default) and Redis applies it after redis.conf."""
    redis = chartpod.PodSpec(docs).container("redis")
    limit = chartpod.quantity(redis["resources"]["limits"]["memory"])
    for p in cluster.pods:
        config = {k: cluster.redis(p.ordinal).config_get(k)[k]
                  for k in ("maxmemory", "maxmemory-policy", "protected-mode")}
        assert config == {"maxmemory": str(int(limit) * 80 // 100),
                          "maxmemory-policy": "noeviction", "protected-mode": "yes"}, p.name


def http_get_probes(docs):
    """(container, probe, path, port number) of every httpGet probe and scrape path."""
    spec = chartpod.PodSpec(docs)
    found = []
    for name in ("agent", "redis"):
        c = spec.container(name)
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = c.get(probe, {}).get("httpGet")
            if get:
                # A named port resolves among the probe's own container's ports only.
                port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
                found.append((name, probe, get["path"], port))
    agent_port = spec.container("agent")["ports"][0]["containerPort"]
    monitors = chartpod.render(*VALUES, "--set", "metrics.podMonitor.enabled=true")
    for ep in chartpod.find(monitors, "PodMonitor")["spec"]["podMetricsEndpoints"]:
        found.append(("agent", "PodMonitor", ep["path"], agent_port))
    return found


@pytest.mark.parametrize("variant", ["plain", "tls"])
def test_probe_endpoints_answer(variant, request):
    cluster, docs = cluster_of(variant, request)
    failing, report = set(), []
    probes = http_get_probes(docs)
    assert {p[1] for p in probes} >= {"startupProbe", "livenessProbe", "readinessProbe"}
    def get(url):
        try:
            return urllib.request.urlopen(url, timeout=2).status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError as e:
            return str(e)

    for container, probe, path, port in probes:
        for pod in cluster.pods:
            url = f"http://{pod.ip}:{port}{path}"
            # A replica is ready once its first sync is done, seconds after the cluster forms.
            deadline = time.monotonic() + 30
            while (status := get(url)) != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            report.append(f"{pod.name} {container}.{probe} {url}: {status}")
            if status != 200:
                failing.add(path)
    assert failing == PENDING_ENDPOINTS, "\n".join(report)


def test_prestop_handover_flags_are_known_to_the_binary(cluster, docs):
    runtime = cluster.runtime
    run = runtime.redis_run(cluster, 0)
    command = chartpod.PodSpec(docs).container("redis")["lifecycle"]["preStop"]["exec"]["command"]
    # The redis container's preStop, in its own filesystem (the shared agent tree), with --help:
    # the binary rejects unknown flags (exit 2) before it prints help (exit 0).
    run.argv = list(command) + ["--help"]
    r = subprocess.run(runtime.runner.argv(cluster, 0, run), capture_output=True, text=True,
                       env=runtime.runner.env(run))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "handover" in r.stdout


@pytest.mark.parametrize("variant", ["plain", "tls"])
def test_prestop_hands_a_master_over(variant, request):
    """The chart's preStop command, run in the redis container's view as the kubelet would,
    moves mastership to the replica (over TLS in the TLS variant)."""
    cluster, docs = cluster_of(variant, request)
    runtime = cluster.runtime
    deadline = time.monotonic() + 30
    while cluster.status()[1]["warnings"]:  # replicas still in their first sync
        assert time.monotonic() < deadline, cluster.status()[1]["warnings"]
        time.sleep(0.2)
    master = next(p.ordinal for p in cluster.pods
                  if cluster.redis(p.ordinal).info("replication")["role"] == "master")
    run = runtime.redis_run(cluster, master)
    run.argv = list(chartpod.PodSpec(docs).container("redis")["lifecycle"]["preStop"]["exec"]["command"])
    r = subprocess.run(runtime.runner.argv(cluster, master, run), capture_output=True, text=True,
                       env=runtime.runner.env(run), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "done" in r.stdout, r.stdout
    assert cluster.redis(master).info("replication")["role"] == "slave"
    cluster.wait_healthy(timeout=30)


def test_tls_variant_serves_tls_only_and_its_liveness_command_speaks_tls(tls_cluster, tls_docs):
    """The TLS variant formed its cluster (the agents verified every pod by name; `status`
    over TLS is clean); Redis has no plaintext port; the redis container's liveness command,
    run in the container's view with the mounted Secret, gets its answer over TLS (the pod's
    address stands in for 127.0.0.1: local pods share the host's loopback)."""
    rc, out = tls_cluster.status()
    assert rc == 0, out
    ip = tls_cluster.pods[0].ip
    r = subprocess.run(["redis-cli", "-h", ip, "ping"], capture_output=True, text=True,
                       timeout=10)
    assert "PONG" not in r.stdout and "NOAUTH" not in r.stdout, r.stdout + r.stderr
    probe = chartpod.PodSpec(tls_docs).container("redis")["livenessProbe"]["exec"]["command"]
    assert "--tls" in probe[2] and "-h 127.0.0.1 " in probe[2], probe
    runtime = tls_cluster.runtime
    run = runtime.redis_run(tls_cluster, 0)
    run.argv = probe[:2] + [probe[2].replace("-h 127.0.0.1 ", f"-h {ip} ")]
    r = subprocess.run(runtime.runner.argv(tls_cluster, 0, run), capture_output=True, text=True,
                       env=runtime.runner.env(run), timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    for p in tls_cluster.pods:
        assert "verification" not in tls_cluster.agent_log_text(p.ordinal), p.name


LIVENESS_HARNESS = r"""
import os, socket, subprocess, sys, time
script, server_reply = sys.argv[1], sys.argv[2]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
if server_reply == "none":
    print(subprocess.run(["sh", "-c", script]).returncode); sys.exit()
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 6379)); srv.listen(1)
child = subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL)
conn, _ = srv.accept(); conn.recv(1024); conn.sendall(server_reply.encode() + b"\r\n")
print(child.wait(timeout=10))
"""


@pytest.mark.parametrize("reply,alive", [
    ("+PONG", True), ("-LOADING Redis is loading the dataset in memory", True),
    ("-MASTERDOWN Link with MASTER is down", True), ("-NOAUTH Authentication required.", True),
    ("-ERR unknown command", False), ("none", False)])
def test_redis_liveness_probe_script(docs, reply, alive):
    """The redis container's liveness command against a fake Redis on 127.0.0.1:6379 in a
    private network namespace (or none at all)."""
    probe = chartpod.PodSpec(docs).container("redis")["livenessProbe"]["exec"]["command"]
    assert probe[:2] == ["sh", "-c"]
    r = subprocess.run(["unshare", "--net", "--", sys.executable, "-c", LIVENESS_HARNESS,
                        probe[2], reply], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert (int(r.stdout.split()[-1]) == 0) == alive, r.stdout


def test_pod_back_on_a_new_ip_heals(cluster):
    old_ip = cluster.pods[1].ip
    cluster.restart_pod(1, new_ip=True)
    new_ip = cluster.pods[1].ip
    assert new_ip != old_ip
    cluster.wait_healthy(timeout=60)
    nodes = cluster.command(0, "CLUSTER", "NODES")
    assert f"{new_ip}:6379" in nodes and f"{old_ip}:6379" not in nodes, nodes


# ----- helm upgrade --set cluster.nodes=N: the rendered scaling hooks around the new size -----

SCALE_PASSWORD = "contract-scale-Secret-7a2e"  # fixed: every rendering keeps it, as helm does
SCALE_KEYS = 3000


def scale_docs(nodes, *extra):
    return chartpod.render(*VALUES, "--set", f"auth.password={SCALE_PASSWORD}",
                           "--set", f"cluster.nodes={nodes}", *extra)


def helm_upgrade(sts, docs, timeout=300):
    """`helm upgrade` to `docs` on the local StatefulSet, in helm's order: the pre-upgrade hook
    Job; the objects (the shape ConfigMap into every running pod as the kubelet updates it, then
    the StatefulSet's size: new pods created, or the pods beyond it deleted, highest first);
    the post-upgrade hook Job. A failed Job fails the upgrade. Returns the Jobs' output."""
    out = ""
    rc, text = sts.runtime.run_job(sts, chartpod.hook_job(docs, "pre-upgrade"), timeout)
    out += text
    assert rc == 0, f"the pre-upgrade hook failed ({rc}):\n{text}"
    sts.runtime.apply(sts, docs)
    old, new = sts.size, chartpod.PodSpec(docs).replicas
    for i in reversed(range(new, old)):
        sts.stop_pod(i)
    sts.scale(new)
    if new > old:
        sts.start_pods(range(old, new))
    rc, text = sts.runtime.run_job(sts, chartpod.hook_job(docs, "post-upgrade"), timeout)
    out += text
    assert rc == 0, f"the post-upgrade hook failed ({rc}):\n{text}"
    return out


def assert_scaled(sts, masters, out):
    """The cluster has the shape: a clean check, even masters, every node knowing exactly the
    pods there are, every key with its value, no password in the Jobs' output."""
    assert SCALE_PASSWORD not in out
    clean, check = scaling.check_clean(sts)
    assert clean, check
    ok, counts = scaling.balanced(sts)
    assert ok and len(counts) == masters, counts
    for p in sts.pods:
        info = sts.command(p.ordinal, "CLUSTER", "INFO")
        assert f"cluster_known_nodes:{sts.size}\r\n" in info, (p.name, info)
    assert scaling.check_keys(sts, SCALE_KEYS) == []


@pytest.mark.parametrize("variant", ["plain", "tls"])
def test_helm_upgrade_scales_with_the_rendered_hooks(variant, tmp_path):
    """The chart's scaling hooks as helm runs them (helm_upgrade), their command, arguments,
    environment, mounts and user as rendered: 6 -> 8 pods (the pre-upgrade drain has nothing to
    do, the post-upgrade scale waits for the new shard and rebalances) and, plaintext, back to 6
    (the drain empties pods 6 and 7 before they go, the scale forgets their nodes); the TLS
    variant (tls.existingSecret, names verified) goes 6 -> 8. Small data: 3000 keys."""
    extra = ["--set", "tls.enabled=true", "--set", f"tls.existingSecret={TLS_SECRET}"] \
        if variant == "tls" else []
    docs = scale_docs(6, *extra)
    tls, secrets = None, None
    if variant == "tls":
        tls = certs.make_cert(certs.make_ca(str(tmp_path / "ca")), str(tmp_path / "pods"))
        secrets = {TLS_SECRET: {}}
        for name in ("ca.crt", "tls.crt", "tls.key"):
            with open(os.path.join(tls, name)) as f:
                secrets[TLS_SECRET][name] = f.read()
    sts = new_sts(str(tmp_path / "sts"), docs, podroot_runtime(docs, secrets=secrets),
                  password=SCALE_PASSWORD, node_timeout=5000, server="redis", tls=tls)
    STARTED.append(sts)
    try:
        sts.up()
        sts.wait_healthy(timeout=60)
        scaling.load(sts, SCALE_KEYS)
        out = helm_upgrade(sts, scale_docs(8, *extra))
        assert "scale: nothing to drain" in out, out
        assert "scale: the cluster has its new shape: 8 nodes" in out, out
        assert sts.replica_of(6) == 7, out
        assert_scaled(sts, 4, out)
        if variant == "tls":
            return
        out = helm_upgrade(sts, scale_docs(6))
        assert "pod 6, pod 7 can be removed now" in out, out
        assert "Forgetting a node whose pod is gone" in out, out
        assert_scaled(sts, 3, out)
    finally:
        sts.down()


# ----- broken values the static checks cannot see: the binary or Redis refuses them -----

def exit_code(proc, within):
    try:
        return proc.popen.wait(timeout=within)
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.parametrize("name,values,failure", [
    ("good values", [], None),
    # Every agent container gets the same variables: prepare, the first, stops the pod's start
    # (Kubernetes: Init:CrashLoopBackOff).
    ("misspelt agent variable", ["--set", "agent.extraEnv[0].name=AGENT_POLL_INTERVALL",
                                 "--set", "agent.extraEnv[0].value=2s"], "init"),
    ("tutorial typo in redis.conf", ["--set", "redis.extraConfig=cluster-require-full-covcr no"],
     "redis"),
])
def test_broken_setting_stops_the_pod(name, values, failure, tmp_path):
    docs = chartpod.render(*VALUES, *values)
    sts = new_sts(str(tmp_path / "sts"), docs, podroot_runtime(docs), password=password_of(docs))
    STARTED.append(sts)
    try:
        if failure == "init":
            with pytest.raises(RuntimeError, match="init container prepare .* failed .rc=2"):
                sts.start_pod(0, wait=False)
            assert "unknown environment variable AGENT_POLL_INTERVALL" in sts.agent_log_text(0)
            return
        sts.start_pod(0, wait=False)
        pod = sts.pods[0]
        if failure == "redis":
            assert exit_code(pod.redis, within=10) == 1
            with open(sts.redis_log(0) + ".out") as f:
                assert "Bad directive" in f.read()
        else:
            time.sleep(2)
            assert pod.redis.alive() and pod.agent.alive(), sts.agent_log_text(0)
    finally:
        sts.down()


def test_wrong_peer_names_never_form_a_cluster(tmp_path):
    """The peer DNS names are part of the contract: with a cluster domain the pods do not
    have, the agents never find each other (the cluster forms in ~3 s when they do)."""
    docs = chartpod.render(*VALUES, "--set", "clusterDomain=cluster.example")
    sts = new_sts(str(tmp_path / "sts"), docs, podroot_runtime(docs), password=password_of(docs))
    STARTED.append(sts)
    try:
        sts.up()
        with pytest.raises(TimeoutError):
            sts.wait_healthy(timeout=10)
    finally:
        sts.down()


def test_pod_runs_as_the_user_the_platform_assigns(tmp_path):
    """With runAsUser, runAsGroup and fsGroup left out (OpenShift's restricted policy), a pod
    starts under whatever UID the platform gives every container, with group 0: prepare writes
    the include, Redis reads it and requires the password, the agent serves its probes."""
    docs = chartpod.render(*VALUES, "--set", "podSecurityContext.runAsUser=null",
                           "--set", "podSecurityContext.runAsGroup=null",
                           "--set", "podSecurityContext.fsGroup=null")
    sts = new_sts(str(tmp_path / "sts"), docs, podroot_runtime(docs, PLATFORM),
                  password=password_of(docs))
    STARTED.append(sts)
    try:
        sts.start_pod(0)
        pod = sts.pods[0]
        assert proc_ids(pod.redis.pid) == (PLATFORM["runAsUser"], 0)
        # The agent's pod wrapper drops to the platform's UID just before it execs the agent:
        # wait for the exec (start_pod waits for Redis, not for the agent).
        wait_for("the agent exec'd", lambda: server_exe(pod.agent.pid).startswith("redis-cluster"),
                 timeout=20)
        assert proc_ids(pod.agent.pid) == (PLATFORM["runAsUser"], 0)
        r = subprocess.run(["redis-cli", "-h", pod.ip, "ping"], capture_output=True, text=True)
        assert r.stdout.startswith("NOAUTH"), r.stdout + r.stderr
        assert sts.redis(0).ping()
        deadline = time.monotonic() + 20
        while True:
            try:
                status = urllib.request.urlopen(f"http://{pod.ip}:9839/livez", timeout=2).status
            except OSError as e:
                status = str(e)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200, sts.agent_log_text(0)
    finally:
        sts.down()
