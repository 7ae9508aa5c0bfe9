#!/usr/bin/python3
"""Certificates for TLS tests, made by the openssl command line: a CA, and certificates it signs
with chosen subject alternative names (EC P-256 keys: fast to make). Each set is a directory in
the layout of a Kubernetes TLS Secret (ca.crt, tls.crt, tls.key), which is what localsts mounts.
"""
import os
import shutil
import ssl
import subprocess

# What the chart's certificate covers: every pod of the headless Service, local clients.
POD_SANS = ("DNS:*.redis-headless.default.svc.cluster.local", "DNS:localhost",
            "IP:127.0.0.1", "IP:::1")


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory, name="rca-test-ca"):
    """A self-signed CA in `directory` (ca.crt, ca.key); returns the directory."""
    os.makedirs(directory, exist_ok=True)
    key, crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    _openssl("req", "-x509", "-new", "-key", key, "-sha256", "-days", "30", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign", "-out", crt)
    return directory


def make_cert(ca_dir, directory, sans=POD_SANS, cn="redis", days=30, trust=None):
    """A certificate for `sans` signed by the CA in ca_dir, written with its key and a copy of
    the CA certificate (`trust`: another CA directory to trust instead) as a Secret's files.
    Usable as server and as client certificate (Redis uses tls-cert-file for both)."""
    os.makedirs(directory, exist_ok=True)
    key, csr = os.path.join(directory, "tls.key"), os.path.join(directory, "tls.csr")
    crt, ext = os.path.join(directory, "tls.crt"), os.path.join(directory, "ext.cnf")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    _openssl("req", "-new", "-key", key, "-subj", f"/CN={cn}", "-out", csr)
    with open(ext, "w") as f:
        f.write(f"subjectAltName={','.join(sans)}\n"
                "extendedKeyUsage=serverAuth,clientAuth\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n")
    _openssl("x509", "-req", "-in", csr, "-CA", os.path.join(ca_dir, "ca.crt"), "-CAkey",
             os.path.join(ca_dir, "ca.key"), "-CAcreateserial", "-days", str(days), "-sha256",
             "-extfile", ext, "-out", crt)
    os.chmod(key, 0o600)
    shutil.copyfile(os.path.join(trust or ca_dir, "ca.crt"), os.path.join(directory, "ca.crt"))
    for leftover in (csr, ext):
        os.remove(leftover)
    return directory


def secret(directory, cert_dir, *trusted_ca_dirs):
    """A Secret's files in `directory`: the certificate and key of `cert_dir`, and a ca.crt that
    bundles the CA certificates of `trusted_ca_dirs` (a CA rotation trusts two for a while)."""
    os.makedirs(directory, exist_ok=True)
    for name in ("tls.crt", "tls.key"):
        shutil.copyfile(os.path.join(cert_dir, name), os.path.join(directory, name))
    with open(os.path.join(directory, "ca.crt"), "w") as out:
        for ca in trusted_ca_dirs:
            with open(os.path.join(ca, "ca.crt")) as f:
                out.write(f.read())
    return directory


def served_certificate(ip, port, ca_file, cert_file, key_file, timeout=2.0):
    """The certificate (DER bytes) a TLS server at ip:port presents, verified against ca_file."""
    import socket
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = False
    ctx.load_cert_chain(cert_file, key_file)
    with socket.create_connection((ip, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def der(cert_path):
    """The DER bytes of a PEM certificate file."""
    with open(cert_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())
