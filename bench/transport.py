#!/usr/bin/python3
"""Per-command cost of the agent's Redis connection (bench/transport.cpp) against hiredis 0.14's
blocking API, plaintext and TLS, on one redis-server with both a plaintext and a TLS port.

    /usr/bin/python3 bench/transport.py [--rounds 5] [--build build]

Certificates are made with openssl in a temporary directory; the server listens on
127.<a network claimed as tests do, tests/lib/nets.py>.251.1 and is stopped by pid when the
benchmark ends.
"""
import argparse
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
import nets  # noqa: E402
from wait import wait_listening  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d, ip):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=bench-ca", cwd=d)
    openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=bench", cwd=d)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write(f"subjectAltName=IP:{ip}\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "ext", cwd=d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    args = ap.parse_args()
    ip = f"127.{nets.base()}.251.1"
    with tempfile.TemporaryDirectory(prefix="rca-bench-transport-") as d:
        make_certs(d, ip)
        conf = os.path.join(d, "redis.conf")
        with open(conf, "w") as f:
            f.write(f"bind {ip}\nport 6379\ntls-port 6380\ntls-cert-file {d}/server.crt\n"
                    f"tls-key-file {d}/server.key\ntls-ca-cert-file {d}/ca.crt\n"
                    f"tls-auth-clients no\nsave \"\"\nappendonly no\ndir {d}\n")
        server = subprocess.Popen(["redis-server", conf], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_listening(ip, 6379)
            wait_listening(ip, 6380)
            binary = os.path.join(args.build, "bench", "bench_transport")
            r = subprocess.run([binary, ip, "6379", "6380", f"{d}/ca.crt", str(args.rounds)])
            return r.returncode
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
