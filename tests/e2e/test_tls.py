"""TLS end to end: a TLS-only cluster (port 0; clients, cluster bus and replication on the TLS
port) created and healed by agents that speak TLS to every Redis, with a CA and certificates
made by openssl in the test.
"""
import os
import ssl
import time

import pytest
import redis as redispy

import agent_http
import certs
from localsts import REDIS_PORT
from wait import wait_for


@pytest.fixture
def pki(tmp_path):
    """The cluster's CA and the certificate every pod mounts; a second, foreign CA."""
    base = str(tmp_path / "pki")
    ca = certs.make_ca(os.path.join(base, "ca"))
    other = certs.make_ca(os.path.join(base, "other-ca"), name="someone-else")
    return {"ca": ca, "other": other, "pods": certs.make_cert(ca, os.path.join(base, "pods"))}


def write_keys(sts, n=200):
    client = sts.cluster_client(socket_timeout=2)
    try:
        for k in range(n):
            client.set(f"k{k}", f"v{k}")
    finally:
        client.close()


def missing_keys(sts, n=200):
    client = sts.cluster_client(socket_timeout=2)
    try:
        return [k for k in range(n) if client.get(f"k{k}") != f"v{k}".encode()]
    finally:
        client.close()


def wait_for_log(sts, i, text, timeout=30):
    wait_for(f"redis-{i}'s agent to log {text!r}", lambda: text in sts.agent_log_text(i), timeout)


def assert_probes_ready(sts, timeout=15):
    """Every pod's /livez and /readyz answer 200 (readiness counts a check after it passed for
    a second: wait for that)."""
    def answering():
        failing = {f"{p.name} {path}": body for p in sts.pods for path in ("/livez", "/readyz")
                   for status, body in [agent_http.get(p.ip, path)] if status != 200}
        return not failing, failing
    wait_for("every pod's /livez and /readyz", answering, timeout, interval=0.2)


def test_tls_only_cluster_created_healed_and_closed_to_plaintext(sts_factory, pki):
    sts = sts_factory(tls=pki["pods"])
    sts.up()
    sts.wait_healthy(timeout=120)
    for i in range(sts.size):
        conf = open(os.path.join(sts.pod_dir(i), "redis.conf")).read()
        assert "port 0\n" in conf and "tls-cluster yes" in conf
    write_keys(sts)
    assert_probes_ready(sts)
    rc, out = sts.cluster_check()
    assert rc == 0, out
    rc, table = sts.status(json_output=False)
    assert rc == 0, table

    # Nothing answers without TLS, nor over TLS without a client certificate.
    with pytest.raises(redispy.exceptions.ConnectionError):
        redispy.Redis(host=sts.pods[0].ip, port=REDIS_PORT, socket_timeout=2).ping()
    with pytest.raises((redispy.exceptions.ConnectionError, ssl.SSLError)):
        redispy.Redis(host=sts.pods[0].ip, port=REDIS_PORT, socket_timeout=2, ssl=True,
                      ssl_ca_certs=sts.tls_file("ca.crt"), ssl_check_hostname=False).ping()
    # An agent without TLS reaches no pod, and says so.
    tls, sts.tls = sts.tls, None
    try:
        rc, out = sts.status()
    finally:
        sts.tls = tls
    assert rc == 1 and all("connect with TLS (agent: --tls=on" in (p["error"] or "")
                           for p in out["pods"]), out
    # Files without --tls=on are a mistake, not silently plaintext.
    rc, out = sts.status(extra=["--tls=off"])
    assert rc == 2 and "need --tls=on" in out, out

    # A full restart on new addresses: every pod down, every pod back elsewhere.
    old_ips = {p.ip for p in sts.pods}
    for i in range(sts.size):
        sts.stop_pod(i)
    sts.start_pods(range(sts.size), new_ip=True)
    assert not old_ips & {p.ip for p in sts.pods}
    sts.wait_healthy(timeout=120)
    assert missing_keys(sts) == []
    assert_probes_ready(sts)
    for i in range(sts.size):
        assert "verification" not in sts.agent_log_text(i), sts.agent_log_text(i)[-2000:]


def test_peer_with_a_certificate_from_another_ca_is_refused_and_reported(sts_factory, pki,
                                                                         tmp_path):
    foreign = certs.make_cert(pki["other"], str(tmp_path / "foreign"), trust=pki["ca"])
    sts = sts_factory(tls=pki["pods"])
    sts.install_tls(foreign, 5)
    sts.up(wait=False)  # the test's clients would refuse redis-5 too
    for i in range(5):
        sts.wait_redis(i)
    wait_for_log(sts, 0, "certificate failed verification")
    rc, out = sts.status()
    assert rc != 0
    err = out["pods"][5]["error"] or ""
    assert "certificate failed verification" in err, out["pods"][5]
    assert all(not p["error"] for p in out["pods"][:5]), out["pods"]
    log = sts.agent_log_text(0)
    assert "certificate failed verification" in log, log[-3000:]
    # The agents never made it part of the cluster.
    nodes = sts.command(0, "CLUSTER", "NODES")
    assert sts.pods[5].ip not in nodes, nodes


def test_name_verification_refuses_a_certificate_without_the_pod_name(sts_factory, pki,
                                                                     tmp_path):
    """Chain valid, name wrong: Redis' own links (no name checks) would accept it; the agents,
    verifying each peer against its pod DNS name, refuse it. With --tls-verify=chain they
    accept it and the cluster forms."""
    unnamed = certs.make_cert(pki["ca"], str(tmp_path / "unnamed"),
                              sans=("DNS:somewhere.example",))
    sts = sts_factory(tls=pki["pods"])
    sts.install_tls(unnamed, 5)
    sts.up()
    wait_for_log(sts, 0, "name verification")
    rc, out = sts.status()
    assert rc != 0
    assert "not valid for 'redis-5.redis-headless" in (out["pods"][5]["error"] or ""), out["pods"]
    sts.down()
    sts.agent_args = ["--tls-verify=chain"]
    for p in sts.pods:
        p.running = False
    sts.start_pods(range(sts.size))
    def status_clean():
        rc, out = sts.status(extra=["--tls-verify=chain"])
        return rc == 0, out["problems"]
    wait_for("status over TLS without problems", status_clean, 120, interval=0.2)


TLS_RELOADS = 'redis_cluster_agent_actions_total{action="tls_reload"}'
TLS_RELOAD_FAILURES = 'redis_cluster_agent_errors_total{kind="tls_reload_failed"}'


def rotate(sts, files, ordinals=None):
    """Installs `files` the way a Secret update does into the volumes of `ordinals` (every pod
    and the clients' copy by default) and waits until each of those agents counted a reload
    (the agent and its Redis both loaded them). Returns the seconds that took."""
    ordinals = range(sts.size) if ordinals is None else ordinals
    before = {i: agent_http.metrics(sts.pods[i].ip)[TLS_RELOADS] for i in ordinals}
    t0 = time.monotonic()
    for i in ordinals:
        sts.install_tls(files, i)
    def reloaded():
        behind = [i for i in ordinals if agent_http.metrics(sts.pods[i].ip)[TLS_RELOADS] <= before[i]]
        return not behind, behind
    wait_for(f"pods {list(ordinals)} to reload their certificates", reloaded, 15, interval=0.1)
    if len(ordinals) == sts.size:
        sts.install_tls(files)
    return time.monotonic() - t0


def test_certificates_rotate_without_restarts_and_unloadable_ones_are_refused(
        sts_factory, pki, tmp_path, capsys):
    """Rotations with a writer running, no process restarted, no write lost: a new certificate
    from the same CA; a new CA the way a real rotation goes (first the bundle trusts both CAs,
    then the certificates come from the new CA, then the old CA goes); then a broken certificate
    in one pod, which its agent refuses while its Redis keeps serving the previous one."""
    from writer import CounterWriter
    sts = sts_factory(tls=pki["pods"])
    sts.up()
    sts.wait_healthy(timeout=120)
    write_keys(sts)
    pids = [(p.redis.pid, p.agent.pid) for p in sts.pods]
    old = certs.der(os.path.join(pki["pods"], "tls.crt"))
    ca, cert, key = (sts.tls_file(n) for n in ("ca.crt", "tls.crt", "tls.key"))
    assert all(certs.served_certificate(p.ip, REDIS_PORT, ca, cert, key) == old for p in sts.pods)
    m = agent_http.metrics(sts.pods[0].ip)
    before = m[TLS_RELOADS]
    assert m['redis_cluster_agent_tls_certificate_expiry_timestamp_seconds{file="cert"}'] > \
        time.time() + 29 * 86400
    writer = CounterWriter(sts).start()
    timings = []
    try:
        # The Secret is updated: every pod's volume gets the new files (the same CA, new key).
        rotated = certs.make_cert(pki["ca"], str(tmp_path / "rotated"), cn="rotated", days=60)
        new = certs.der(os.path.join(rotated, "tls.crt"))
        t0 = time.monotonic()
        for i in range(sts.size):
            sts.install_tls(rotated, i)
        serving = {}
        while len(serving) < sts.size and time.monotonic() - t0 < 15:
            for p in sts.pods:
                if p.ordinal not in serving and \
                        certs.served_certificate(p.ip, REDIS_PORT, ca, cert, key) == new:
                    serving[p.ordinal] = time.monotonic() - t0
            time.sleep(0.05)
        timings.append(f"new certificate served after: {sorted(serving.values())} s")
        assert len(serving) == sts.size, f"only {sorted(serving)} serve the new certificate"
        assert max(serving.values()) < 5
        for p in sts.pods:
            m = agent_http.metrics(p.ip)
            assert m[TLS_RELOADS] >= before + 1
            assert m[TLS_RELOAD_FAILURES] == 0
            assert m['redis_cluster_agent_tls_certificate_expiry_timestamp_seconds{file="cert"}'] \
                > time.time() + 59 * 86400
            assert "Certificates reloaded" in sts.agent_log_text(p.ordinal)
        sts.install_tls(rotated)

        rotate_to_a_new_ca(sts, pki, rotated, tmp_path, timings)
        refuse_a_broken_certificate(sts, tmp_path)
    finally:
        writer.stop()
    with capsys.disabled():
        print("\n" + "\n".join(timings + writer.report()))
    assert writer.check_counters() == []
    assert writer.longest_gap < 2.0, writer.report()
    assert [(p.redis.pid, p.agent.pid) for p in sts.pods] == pids
    assert all(p.redis.alive() and p.agent.alive() for p in sts.pods)
    # New connections of the agents and of clients work with the files of the new CA.
    sts.wait_healthy(timeout=30)
    assert missing_keys(sts) == []
    rc, out = sts.cluster_check()
    assert rc == 0, out


def rotate_to_a_new_ca(sts, pki, rotated, tmp_path, timings):
    new_ca = certs.make_ca(str(tmp_path / "new-ca"), name="rca-new-ca")
    issued = certs.make_cert(new_ca, str(tmp_path / "issued"), cn="issued-by-the-new-ca")
    steps = [("both CAs trusted", certs.secret(str(tmp_path / "step1"), rotated, pki["ca"], new_ca)),
             ("certificates of the new CA",
              certs.secret(str(tmp_path / "step2"), issued, pki["ca"], new_ca)),
             ("old CA dropped", certs.secret(str(tmp_path / "step3"), issued, new_ca))]
    for what, files in steps:
        timings.append(f"CA rotation, {what}: every pod reloaded after {rotate(sts, files):.2f} s")
    # Every Redis serves the new CA's certificate, checked against the new CA alone.
    new_ca_file = os.path.join(new_ca, "ca.crt")
    cert, key = sts.tls_file("tls.crt"), sts.tls_file("tls.key")
    served = certs.der(os.path.join(issued, "tls.crt"))
    assert all(certs.served_certificate(p.ip, REDIS_PORT, new_ca_file, cert, key) == served
               for p in sts.pods)
    with pytest.raises(ssl.SSLCertVerificationError):
        certs.served_certificate(sts.pods[0].ip, REDIS_PORT, os.path.join(pki["ca"], "ca.crt"),
                                 cert, key)
    # Redis dropped the old CA too: a client certificate it signed is refused.
    with pytest.raises((redispy.exceptions.ConnectionError, ssl.SSLError)):
        redispy.Redis(host=sts.pods[0].ip, port=REDIS_PORT, socket_timeout=2, ssl=True,
                      ssl_ca_certs=new_ca_file, ssl_check_hostname=False,
                      ssl_certfile=os.path.join(rotated, "tls.crt"),
                      ssl_keyfile=os.path.join(rotated, "tls.key")).ping()
    rc, out = sts.status()  # a new process, new connections, the new CA's files
    assert rc == 0, out


def refuse_a_broken_certificate(sts, tmp_path):
    """A certificate that does not load lands in redis-2's volume: its agent says so (log,
    counter) and keeps the previous files, Redis keeps serving them, the cluster stays healthy;
    the next good update is loaded."""
    ca, cert, key = (sts.tls_file(n) for n in ("ca.crt", "tls.crt", "tls.key"))
    pod = sts.pods[2]
    serving = certs.served_certificate(pod.ip, REDIS_PORT, ca, cert, key)
    broken = certs.secret(str(tmp_path / "broken"), os.path.dirname(cert), os.path.dirname(ca))
    with open(os.path.join(broken, "tls.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nMIIB not a certificate\n-----END CERTIFICATE-----\n")
    sts.install_tls(broken, 2)
    wait_for_log(sts, 2, "New certificate files do not load; keeping the previous ones")
    assert "cannot load the certificate" in sts.agent_log_text(2)
    assert agent_http.metrics(pod.ip)[TLS_RELOAD_FAILURES] == 1
    assert certs.served_certificate(pod.ip, REDIS_PORT, ca, cert, key) == serving
    rc, out = sts.status()
    assert rc == 0, out
    assert_probes_ready(sts)
    # The next Secret update, a good one, is loaded as usual.
    again = certs.secret(str(tmp_path / "again"), os.path.dirname(cert), os.path.dirname(ca))
    rotate(sts, again, ordinals=[2])
    assert agent_http.metrics(pod.ip)[TLS_RELOAD_FAILURES] == 1


def test_rolling_restart_with_handovers_over_tls_loses_no_write(sts_factory, pki, capsys):
    """The handover (preStop) runs over TLS too: every master hands its role over before it
    stops, verified by name, and no acknowledged write is lost."""
    from writer import CounterWriter
    sts = sts_factory(tls=pki["pods"], redis_conf=["repl-diskless-sync-delay 0"])
    sts.up()
    sts.wait_ready(timeout=120)
    writer = CounterWriter(sts).start()
    try:
        time.sleep(1)
        records = sts.rollout_restart(ready_timeout=90)
        time.sleep(1)
    finally:
        writer.stop()
    with capsys.disabled():
        print("\n".join(sts.roll_report("\nTLS rolling restart of 6 pods with handover:",
                                         records, writer)))
    assert writer.check_counters() == []
    for rec in records:
        pre = rec["prestop"]
        assert pre.rc == 0, pre
        assert pre.outcome == ("done" if rec["role"] == "master" else "skipped"), pre
    assert writer.longest_gap < 2.0, writer.report()
