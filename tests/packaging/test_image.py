"""The agent image, built by podman from the repository's Dockerfile as it is, running the
chart's pod on the local StatefulSet: every container from an image (`podman run --network
host`, each pod on its own 127.x address), Redis from a Debian-based stand-in for the official
image. Six pods form the cluster; `status` runs in an agent container the way `kubectl exec`
runs it; one pod comes back on a new IP and the cluster heals. The image is FROM scratch: the
agent's tree and three files in /etc, at most 25 MB.
"""
import contextlib
import hashlib
import os
import subprocess

import pytest

import chartpod
from conftest import new_sts

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT_IMAGE = os.environ.get("RCA_AGENT_IMAGE", "localhost/redis-cluster-agent:ci")
REDIS_IMAGE = os.environ.get("RCA_REDIS_IMAGE", "localhost/rca-redis-standin:7.0.15")
VALKEY_IMAGE = os.environ.get("RCA_VALKEY_IMAGE", "localhost/rca-valkey-standin:8.0.1")
EMPTY_IMAGE = "localhost/rca-empty:latest"
SIZE_LIMIT = 25e6  # bytes, the whole image
AGENT_HOME = "/opt/redis-cluster-agent"
ETC_FILES = {"etc/passwd", "etc/group", "etc/nsswitch.conf"}
PASSWORD = "image-Pa55word"
VALUES = ["--set", "fullnameOverride=redis", "--set", "auth.enabled=true",
          "--set", "auth.existingSecret=redis-auth", "--set", "cluster.nodeTimeout=5000"]

# Containers of this checkout carry the label rca-test=<PREFIX>; leftovers of a killed run are
# removed before the tests start (they would hold the pods' addresses).
PREFIX = "rca-image-" + hashlib.sha1(chartpod.REPO.encode()).hexdigest()[:8]
STARTED = []


def podman(*args, check=True):
    r = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {r.stderr.strip()}")
    return r


@pytest.fixture(scope="module", autouse=True)
def images():
    conf = subprocess.run(["bash", "-c", f". {HERE}/podman-env.sh && echo $CONTAINERS_CONF"],
                          capture_output=True, text=True, check=True).stdout.strip()
    os.environ["CONTAINERS_CONF"] = conf
    chartpod.PodmanRunner({}, PREFIX).cleanup(None)
    images = (AGENT_IMAGE, REDIS_IMAGE, VALKEY_IMAGE)
    if any(podman("image", "exists", i, check=False).returncode for i in images):
        subprocess.run([os.path.join(HERE, "build-images.sh"), *images], check=True)
    if podman("image", "exists", EMPTY_IMAGE, check=False).returncode:
        # No files at all: no libc, no shell. Stands in for the Alpine (musl) redis image.
        empty = subprocess.run(["tar", "-cf", "-", "--files-from", "/dev/null"], capture_output=True,
                               check=True).stdout
        subprocess.run(["podman", "import", "-", EMPTY_IMAGE], input=empty, capture_output=True,
                       check=True)


@pytest.fixture(scope="module")
def docs():
    return chartpod.render(*VALUES)


def image_size(image):
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)


@contextlib.contextmanager
def created(image, what):
    """A container made from `image` and never started, for podman cp/export: the image has
    no tools to copy or list its own files."""
    name = f"{PREFIX}-{what}"
    podman("rm", "-f", name, check=False)
    podman("create", "--name", name, image)
    try:
        yield name
    finally:
        podman("rm", "-f", name, check=False)


def image_files(image):
    """Every file and directory of the image (its layers, without what a runtime mounts)."""
    with created(image, "files") as name:
        tar = subprocess.run(["podman", "export", name], capture_output=True, check=True).stdout
    listing = subprocess.run(["tar", "-tvf", "-"], input=tar, capture_output=True, check=True)
    out = {}
    for line in listing.stdout.decode().splitlines():
        mode, path = line.split()[0], line.split()[-1].lstrip("./").rstrip("/")
        if path:
            out[path] = mode
    return out


def test_image_is_small():
    size = image_size(AGENT_IMAGE)
    print(f"agent image {AGENT_IMAGE}: {size / 1e6:.1f} MB (limit {SIZE_LIMIT / 1e6:.0f} MB)")
    assert size <= SIZE_LIMIT


def test_image_holds_the_agent_tree_and_nothing_else():
    files = image_files(AGENT_IMAGE)
    regular = {p for p, mode in files.items() if mode[0] == "-"}
    home = AGENT_HOME.lstrip("/")
    # Nothing but the agent's tree and /etc's three files: no shell, no package manager.
    assert {p for p in regular if not p.startswith(home + "/")} == ETC_FILES
    assert not [p for p, mode in files.items() if mode[0] == "l"], "symlinks in the image"
    for tool in ("bin/sh", "usr/bin/apt-get", "bin/cp"):
        assert tool not in files
    libs = {os.path.basename(p) for p in regular if p.startswith(home + "/lib/")}
    # TLS and the handover client: libssl/libcrypto travel with the binary that links them.
    assert {"libssl.so.3", "libcrypto.so.3", "libc.so.6", "libstdc++.so.6"} <= libs, libs
    assert f"{home}/bin/redis-cluster-agent-handover" in regular


def test_image_runs_the_chart_command_as_a_numeric_non_root_user(docs):
    inspect = podman("image", "inspect", "--format",
                     "{{.Config.User}}|{{json .Config.Entrypoint}}", AGENT_IMAGE).stdout.strip()
    user, entrypoint = inspect.split("|")
    uid, gid = (int(x) for x in user.split(":"))
    assert uid != 0 and gid != 0
    command = chartpod.PodSpec(docs).container("agent")["command"]
    assert entrypoint == f'["{command[0]}"]'
    # As the image's own user, and as the chart's, on a read-only root.
    for user_args in ([], ["--user", "999:999"]):
        r = podman("run", "--rm", "--network", "host", "--read-only", "--read-only-tmpfs=false",
                   "--cap-drop", "ALL", *user_args, AGENT_IMAGE, "version")
        assert r.stdout.startswith("redis-cluster-agent ")


def test_handover_client_runs_in_other_images(docs, tmp_path):
    """The agent copies its static handover client into the runtime dir the redis container
    shares, for the preStop; it must run there: in the Redis and Valkey images and in an image
    with no libc at all (as in Alpine's)."""
    out = tmp_path / "client"
    out.mkdir()
    os.chown(out, 999, 999)
    with created(AGENT_IMAGE, "handover-copy") as name:
        podman("cp", f"{name}:{AGENT_HOME}/bin/redis-cluster-agent-handover",
               str(out / "handover"))
    redis = chartpod.PodSpec(docs).container("redis")
    prestop = redis["lifecycle"]["preStop"]["exec"]["command"]
    target = os.path.dirname(prestop[0])
    for image in (REDIS_IMAGE, VALKEY_IMAGE, EMPTY_IMAGE):
        r = podman("run", "--rm", "--network", "host", "--user", "999:999", "--read-only",
                   "-v", f"{out}:{target}:ro", "--entrypoint", prestop[0], image, *prestop[1:],
                   "--help")
        assert "redis-cluster-agent-handover" in r.stdout, (image, r.stdout, r.stderr)


def test_valkey_standin_runs_valkey_8_as_the_chart_user():
    r = podman("run", "--rm", "--network", "host", "--user", "999:999", "--read-only",
               "--cap-drop", "ALL", VALKEY_IMAGE, "valkey-server", "--version")
    assert "Valkey server v=8.0.1 " in r.stdout, r.stdout


def test_cluster_from_images_forms_and_heals(docs, tmp_path):
    spec = chartpod.PodSpec(docs)
    runner = chartpod.PodmanRunner({spec.container("agent")["image"]: AGENT_IMAGE,
                                    spec.container("redis")["image"]: REDIS_IMAGE},
                                   prefix=PREFIX)
    runtime = chartpod.ChartRuntime(docs, runner, secrets={"redis-auth": {"redis-password": PASSWORD}})
    sts = new_sts(str(tmp_path / "sts"), docs, runtime, password=PASSWORD, node_timeout=5000)
    STARTED.append(sts)
    try:
        sts.up()
        sts.wait_healthy(timeout=90)
        names = podman("ps", "--filter", f"label=rca-test={runner.prefix}", "--format",
                       "{{.Names}}").stdout.split()
        assert len(names) == 2 * sts.size, names  # redis + agent per pod; init containers gone
        # kubectl exec redis-0 -c agent -- redis-cluster-agent status: found on PATH, settings
        # from the container's AGENT_* variables, no shell involved.
        agent = next(n for n in names if n.endswith(f"-{sts.pods[0].name}-agent"))
        r = podman("exec", agent, "redis-cluster-agent", "status", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert all(p.name in r.stdout for p in sts.pods), r.stdout
        old_ip = sts.pods[3].ip
        sts.restart_pod(3, new_ip=True)
        sts.wait_healthy(timeout=60)
        nodes = sts.command(0, "CLUSTER", "NODES")
        assert f"{sts.pods[3].ip}:6379" in nodes and f"{old_ip}:6379" not in nodes, nodes
    finally:
        sts.down()
        left = podman("ps", "-aq", "--filter", f"label=rca-test={runner.prefix}").stdout.split()
        assert not left, f"containers left behind: {left}"
