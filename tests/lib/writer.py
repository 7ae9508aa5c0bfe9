"""A bounded writer for end-to-end tests and benchmarks: a real cluster client (redis-py's
RedisCluster, like the tutorial's hit-counter app) increments counters spread over every shard
and records what was acknowledged, what was attempted, whether any counter ever went backwards,
and the longest time each counter could not be written.
"""
import threading
import time

from redis.cluster import ClusterNode, RedisCluster

# Hash tags that land on each of three redis-cli-style shards (slot 0-5460, 5461-10922, rest).
KEYS = [f"counter:{{{tag}}}" for tag in ("a", "b", "c", "d", "e", "f")]


class Writer:
    def __init__(self, startup, password=None, keys=KEYS, interval=0.005, max_ops=2_000_000):
        self.startup = startup          # [(ip, port)]
        self.password = password
        self.keys = list(keys)
        self.interval = interval
        self.max_ops = max_ops
        self.acked = {k: 0 for k in self.keys}
        self.attempted = {k: 0 for k in self.keys}
        self.last_value = {k: 0 for k in self.keys}
        self.backwards = []             # (key, previous, new)
        self.errors = 0
        self.gaps = {k: 0.0 for k in self.keys}   # longest time without a successful write
        self._last_ok = {}
        self._stop = threading.Event()
        self._thread = None

    def _client(self):
        return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in self.startup],
                            password=self.password, socket_timeout=1, socket_connect_timeout=1,
                            cluster_error_retry_attempts=1)

    def _run(self):
        client = None
        ops = 0
        while not self._stop.is_set() and ops < self.max_ops:
            for key in self.keys:
                ops += 1
                self.attempted[key] += 1
                now = time.monotonic()
                try:
                    if client is None:
                        client = self._client()
                    value = client.incr(key)
                # redis-py raises RedisClusterException (no RedisError) and occasionally
                # internal errors while the topology changes: any failure is "not acknowledged".
                except Exception:  # noqa: BLE001
                    self.errors += 1
                    if client is not None:
                        try:
                            client.close()
                        except Exception:  # noqa: BLE001
                            pass
                    client = None
                    time.sleep(0.05)
                    continue
                self.acked[key] += 1
                if value < self.last_value[key]:
                    self.backwards.append((key, self.last_value[key], value))
                self.last_value[key] = value
                prev = self._last_ok.get(key, self._started)
                self.gaps[key] = max(self.gaps[key], now - prev)
                self._last_ok[key] = time.monotonic()
            time.sleep(self.interval)
        if client is not None:
            client.close()

    def start(self):
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(30)
        end = time.monotonic()
        for key in self.keys:
            self.gaps[key] = max(self.gaps[key], end - self._last_ok.get(key, self._started))

    def verify(self, client):
        """Final values lie between acknowledged and attempted increments; never backwards."""
        problems = list(f"{k} went back from {a} to {b}" for k, a, b in self.backwards)
        for key in self.keys:
            final = int(client.get(key) or 0)
            if not self.acked[key] <= final <= self.attempted[key]:
                problems.append(f"{key}: final {final}, acknowledged {self.acked[key]}, "
                                f"attempted {self.attempted[key]}")
        return problems
