#!/usr/bin/python3
"""Hit counter: every GET / adds one to a counter in Redis Cluster and answers with the new value.

The tutorial checks its cluster with an app like this one behind a load balancer: keep
reloading the page while a Redis pod is deleted, and the number must keep going up. This is
that app in a few lines of standard-library Python and redis-py's cluster client (Debian's
python3-redis), so it runs the same in a pod (hit-counter.yaml) and on this machine against
the local StatefulSet:

    scripts/demo                                   # a local cluster at 127.77.0.10 ... 15
    examples/hit-counter/hitcounter.py --seeds 127.77.0.10:6379 --port 8080
    curl -s localhost:8080/                        # 1, 2, 3, ...

GET /        INCR the counter; 200 and "<value>\\n", or 503 and the error while Redis cannot
             take the write (the client retries on the next request).
GET /healthz 200 "ok": the process answers (it never asks Redis: a Redis outage must not
             restart the app).

Configuration (flags win over the environment): --seeds / REDIS_SEEDS, host:port[,host:port...]
(a Service name works: it is resolved again whenever the client reconnects); --password-file /
REDIS_PASSWORD_FILE; --key / HIT_COUNTER_KEY (default "hits"); --bind / BIND (default 0.0.0.0);
--port / PORT (default 5000; 0 picks a free one). The first line on stdout is
"listening on HOST:PORT".
"""
import argparse
import http.server
import os
import sys
import threading

import redis
from redis.cluster import ClusterNode, RedisCluster


class Counter:
    """One cluster client shared by the request threads. After a failure that is not a plain
    Redis error, the client is built again (redis-py 4.3 can leave a cluster client unusable,
    e.g. once every node it knew has moved) from the seeds and every node the old client
    knew: a seed that is a pod's address goes stale when the pods move one by one, a Service
    name does not."""

    def __init__(self, seeds, password, key):
        self.seeds, self.password, self.key = seeds, password, key
        self._known = []
        self._client = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._client is None:
                addrs = self.seeds + [a for a in self._known if a not in self.seeds]
                self._client = RedisCluster(
                    startup_nodes=[ClusterNode(host, port) for host, port in addrs],
                    password=self.password, socket_timeout=2, socket_connect_timeout=2)
            return self._client

    def _drop(self, client):
        try:
            known = [(n.host, n.port) for n in client.get_nodes()]
        except Exception:  # noqa: BLE001 - a broken client may not even list its nodes
            known = []
        with self._lock:
            if self._client is client:
                self._client = None
                self._known = known or self._known
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a broken client may fail too
            pass

    def hit(self):
        client = None
        try:
            client = self._get()
            return client.incr(self.key)
        except redis.exceptions.RedisError:
            raise
        except Exception:
            if client is not None:
                self._drop(client)
            raise


def make_handler(counter):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status, text):
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - the name http.server calls
            if self.path == "/healthz":
                self._send(200, "ok\n")
            elif self.path == "/":
                try:
                    self._send(200, f"{counter.hit()}\n")
                except Exception as e:  # noqa: BLE001 - any failure is "not counted"
                    self._send(503, f"not counted: {type(e).__name__}: {e}\n")
            else:
                self._send(404, "not found\n")

        def log_message(self, fmt, *args):
            pass  # one line per hit would drown the logs

    return Handler


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"seed {part.strip()!r} is not host:port")
        seeds.append((host.strip("[]"), int(port)))
    return seeds


def main(argv):
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default=env("REDIS_SEEDS", "redis-cluster:6379"))
    ap.add_argument("--password-file", default=env("REDIS_PASSWORD_FILE"))
    ap.add_argument("--key", default=env("HIT_COUNTER_KEY", "hits"))
    ap.add_argument("--bind", default=env("BIND", "0.0.0.0"))
    ap.add_argument("--port", type=int, default=int(env("PORT", "5000")))
    args = ap.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as e:
        ap.error(str(e))
    password = None
    if args.password_file:
        with open(args.password_file) as f:
            password = f.read().strip()
    server = http.server.ThreadingHTTPServer((args.bind, args.port),
                                             make_handler(Counter(seeds, password, args.key)))
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
