"""Fixtures for the end-to-end tests: real servers and real agents on loopback.

The server is a parameter of the whole run: RCA_SERVER=redis (the default, Debian's
redis-server 7.0.15) or RCA_SERVER=valkey (valkey-server 8.0.1); tests/e2e/meson.build runs
every module on Redis and a core set again on Valkey.

Every local StatefulSet a test creates is torn down (every process killed by pid) when the test
ends, pass or fail; on failure the agents' logs are printed.
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
sys.dont_write_bytecode = True
from localsts import LocalStatefulSet, agent_binary  # noqa: E402
import nets  # noqa: E402
import servers  # noqa: E402

SERVER = servers.server()  # from RCA_SERVER

# Each local StatefulSet gets its own 127.N network from this module's range (tests/lib/nets.py).
_NETS = nets.pool()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a minute")


def pytest_report_header(config):
    return f"server: {SERVER.binary} {SERVER.version()} ({servers.ENV}={SERVER.name})"


@pytest.fixture(scope="session", autouse=True)
def _requirements():
    if os.geteuid() != 0:
        pytest.skip("end-to-end tests need root (mount namespaces for per-pod /etc/hosts)")
    for tool in SERVER.missing_tools() + ["unshare"]:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/install-deps.sh)")
    if not os.access(agent_binary(), os.X_OK):
        pytest.fail(f"agent binary {agent_binary()} missing: build first (meson compile -C build)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for sts in item.funcargs.get("sts_factory", _Factory(None)).created:
            for p in sts.pods:
                text = sts.agent_log_text(p.ordinal)
                if text:
                    rep.sections.append((f"agent log {p.name}", text[-6000:]))
                text = _tail(sts.redis_log(p.ordinal), 3000)
                if text:
                    rep.sections.append((f"{sts.server.name} log {p.name}", text))


def _tail(path, size):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-size:]
    except FileNotFoundError:
        return ""


class _Factory:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.created = []

    def __call__(self, **kw):
        net = next(_NETS, None)
        if net is None:
            raise RuntimeError("this module used every network of its range: raise "
                               "RCA_TEST_NET_SPAN here and in tests/e2e/meson.build")
        kw.setdefault("net", f"127.{net}")
        kw.setdefault("node_timeout", 5000)
        kw.setdefault("server", SERVER)
        sts = LocalStatefulSet(os.path.join(self.tmp_path, f"sts{len(self.created)}"), **kw)
        self.created.append(sts)
        return sts

    def down(self):
        for sts in self.created:
            sts.down()


@pytest.fixture
def sts_factory(tmp_path):
    factory = _Factory(str(tmp_path))
    try:
        yield factory
    finally:
        factory.down()
