"""Fixtures for the packaging tests (the chart, the manifests, the image).

They need the tools of scripts/install-packaging-tools.sh (helm, node modules, podman) and fail,
rather than skip, when those are missing: CI runs them on purpose. Local StatefulSets use
loopback networks this process claims (tests/lib/nets.py), clear of every other test's.
"""
import itertools
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
sys.path.insert(0, HERE)

import chartpod  # noqa: E402
import nets  # noqa: E402
from localsts import LocalStatefulSet  # noqa: E402

# Module-scoped StatefulSets (the chart's plain and TLS variants) live while the module's other
# tests start and stop theirs: each has a network of its own.
MODULE_NET = f"127.{nets.last()}"
TLS_MODULE_NET = f"127.{nets.last() - 1}"
# Reused in turn: every test stops its StatefulSet (processes by pid, containers by label)
# before the next one starts.
_NETS = itertools.cycle(range(nets.base(), nets.base() + 4))


def next_net():
    return f"127.{next(_NETS)}"


@pytest.fixture(scope="session", autouse=True)
def _tools():
    missing = [p for p in (chartpod.helm(), os.path.join(HERE, "node_modules"))
               if not os.path.exists(p)]
    if missing:
        pytest.fail(f"missing {missing}: run scripts/install-packaging-tools.sh")


def new_sts(root, docs, runtime, password=None, **kw):
    """A local StatefulSet sized like the rendered StatefulSet, running the chart's pod."""
    pod = chartpod.PodSpec(docs)
    # The chart's shape ConfigMap ("nodes: N" and "replicas: R" lines) sizes the agents.
    shape = next(d for d in docs if d["kind"] == "ConfigMap"
                 and d["metadata"]["name"].endswith("-shape"))["data"]["shape"]
    replicas = int(shape.split("replicas:")[1].split()[0])
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    return LocalStatefulSet(root, pods=pod.replicas, replicas=replicas,
                            net=kw.pop("net", None) or next_net(), password=password,
                            runtime=runtime, **kw)


def attach_logs(rep, sts):
    for p in sts.pods:
        text = sts.agent_log_text(p.ordinal)
        if text:
            rep.sections.append((f"agent log {p.name}", text[-4000:]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for sts in getattr(item.module, "STARTED", []):
            attach_logs(rep, sts)
