#!/usr/bin/python3
"""Reads an agent's read-only HTTP listener (probes and metrics), one new connection per request
like the kubelet's prober."""
import http.client

from localsts import HTTP_PORT

DOWN = "down"  # nothing answered: the agent is not running (or not listening yet)


def get(ip, path, timeout=1.0):
    """(status, body) of GET http://ip:9839/path, or (DOWN, error text)."""
    conn = http.client.HTTPConnection(ip, HTTP_PORT, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as e:
        return DOWN, str(e)
    finally:
        conn.close()


def metrics(ip, timeout=2.0):
    """The agent's /metrics parsed: {'name{labels}': value}; raises when it does not answer 200."""
    status, body = get(ip, "/metrics", timeout)
    if status != 200:
        raise RuntimeError(f"/metrics of {ip}: {status} {body[:200]}")
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def failing_checks(body):
    """Names of the checks a probe body lists as failed ("[-]name failed: ...")."""
    return [l[3:].split(" ", 1)[0] for l in body.splitlines() if l.startswith("[-]")]
