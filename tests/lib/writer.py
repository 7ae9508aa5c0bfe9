"""A bounded write load for rolling-restart tests and benchmarks (loopback only).

One thread per shard INCRs a few counters whose slots that shard owns, through its own redis-py
cluster client (which follows MOVED and retries after connection errors). Each thread counts,
per counter, the increments it attempted and the ones Redis acknowledged, and measures the
longest time between two acknowledged writes on its shard: the write gap a client saw. The
threads pace themselves (`interval`) and stop when told or after `max_seconds`. Told to use
another password (use_password), each builds a new client with it before its next write.

After a run, every counter must hold at least its acknowledged increments (none lost) and at
most its attempted ones (a failed attempt may or may not have been applied), and no INCR may
ever have returned less than an earlier one on the same counter (a counter going backwards
means a node took over a shard without its data).
"""
import logging
import sys
import threading
import time

import redis
from redis.crc import key_slot

class _ClientTrail(logging.Handler):
    """redis-py logs every MOVED and connection error it handles (with a traceback); the writer
    keeps the last of them per thread, timed, instead of printing them: what the client did
    inside a gap."""

    KEEP = 200

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.by_thread = {}

    def emit(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        text = record.getMessage() + (f": {type(exc).__name__}: {exc}" if exc else "")
        text = " ".join(text.split())  # one line per event
        trail = self.by_thread.setdefault(record.threadName, [])
        trail.append((time.monotonic(), text[:160]))
        del trail[:-self.KEEP]


_trail = _ClientTrail()
_quiet = logging.getLogger("redis")
_quiet.addHandler(_trail)
_quiet.setLevel(logging.WARNING)  # log.exception is ERROR; debug lines are not kept
_quiet.propagate = False


def _ignore_redis_py_del_bug(unraisable, _default=sys.unraisablehook):
    # redis-py 4.3.4: ClusterNode.__del__ fails on a node whose __init__ did not finish (a
    # refused connection during a topology refresh). Harmless; everything else is reported.
    obj = getattr(unraisable, "object", None)
    if isinstance(unraisable.exc_value, AttributeError) and \
            getattr(obj, "__qualname__", "") == "ClusterNode.__del__":
        return
    _default(unraisable)


sys.unraisablehook = _ignore_redis_py_del_bug


def shard_ranges(sts, ordinal=0):
    """Slot ranges of every master with slots, from pod `ordinal`'s CLUSTER NODES, in slot
    order: [[(first, last), ...], ...], one list per shard."""
    shards = []
    for line in sts.command(ordinal, "CLUSTER", "NODES").splitlines():
        fields = line.split()
        if "master" not in fields[2].split(",") or len(fields) < 9:
            continue
        ranges = []
        for part in fields[8:]:
            if part.startswith("["):
                continue
            first, _, last = part.partition("-")
            ranges.append((int(first), int(last or first)))
        if ranges:
            shards.append(sorted(ranges))
    return sorted(shards)


def keys_for_shards(shards, per_shard):
    """`per_shard` counter names whose slots fall in each shard."""
    out = [[] for _ in shards]
    n = 0
    while any(len(k) < per_shard for k in out):
        key = f"counter:{n}"
        slot = key_slot(key.encode())
        for idx, ranges in enumerate(shards):
            if len(out[idx]) < per_shard and any(a <= slot <= b for a, b in ranges):
                out[idx].append(key)
        n += 1
    return out


SLOW = 0.1  # an acknowledged write slower than this is recorded as an event
MAX_EVENTS = 2000
SHOWN_EVENTS = 10  # a report shows at most this many of a gap's events
BEFORE_GAP = 0.5  # what the client logged this long before the longest gap is reported too


class _ShardWriter(threading.Thread):
    def __init__(self, sts, index, keys, interval, stop, max_seconds, socket_timeout):
        super().__init__(name=f"writer-shard{index}", daemon=True)
        self.sts, self.index, self.keys = sts, index, keys
        self.interval, self.stop_event, self.max_seconds = interval, stop, max_seconds
        self.socket_timeout = socket_timeout
        self.attempted = {k: 0 for k in keys}
        self.acked = {k: 0 for k in keys}
        self.errors = 0
        self.last_error = None
        self.last_value = {k: 0 for k in keys}
        self.backwards = []  # (key, previous value, new value)
        self.max_gap = 0.0
        self.max_gap_at = None  # seconds since start when the longest gap began
        self.started = None
        self.client_password = None
        self.reconnects = 0  # new clients built because the password changed
        self.acked_per_second = {}  # whole seconds since start -> acknowledged writes
        self.slowest_per_second = {}  # whole seconds since start -> slowest attempt (seconds)
        # Attempts that failed or took longer than SLOW: (start, seconds taken, outcome), start
        # in seconds since the thread started; what happened inside the longest gap.
        self.events = []

    def _client(self):
        self.client_password = self.sts.password
        return self.sts.cluster_client(socket_timeout=self.socket_timeout,
                                       socket_connect_timeout=self.socket_timeout)

    def _event(self, began, outcome):
        self._took(began)
        if len(self.events) < MAX_EVENTS:
            self.events.append((began - self.started, time.monotonic() - began, outcome))

    def _took(self, began):
        """Records how long the attempt that began at `began` took, in the second it began."""
        second = int(began - self.started)
        took = time.monotonic() - began
        self.slowest_per_second[second] = max(self.slowest_per_second.get(second, 0.0), took)

    def gap_events(self):
        """The recorded attempts that began within the longest gap, and what the client logged
        from BEFORE_GAP before it to its end: [(seconds since start, seconds taken or None,
        what)], in time order."""
        if self.max_gap_at is None:
            return []
        first, last = self.max_gap_at, self.max_gap_at + self.max_gap
        out = [e for e in self.events if first - 0.001 <= e[0] <= last]
        for at, text in _trail.by_thread.get(self.name, []):
            if first - BEFORE_GAP <= at - self.started <= last:
                out.append((at - self.started, None, "client: " + text))
        return sorted(out, key=lambda e: e[0])

    def _gap(self, now, last_ack):
        # Gaps count from the first acknowledged write: client start-up is not an outage.
        if last_ack is not None and now - last_ack > self.max_gap:
            self.max_gap, self.max_gap_at = now - last_ack, last_ack - self.started

    def run(self):
        self.started = time.monotonic()
        self.started_wall = time.time()
        last_ack = None
        client = None
        n = 0
        while not self.stop_event.is_set() and time.monotonic() - self.started < self.max_seconds:
            key = self.keys[n % len(self.keys)]
            n += 1
            self.attempted[key] += 1
            if client is not None and self.client_password != self.sts.password:
                client.close()  # told to use another password: a new client, as an app would
                client = None
                self.reconnects += 1
            began = time.monotonic()
            try:
                if client is None:
                    client = self._client()
                value = client.incr(key)
            except Exception as e:  # noqa: BLE001 - any failure is an unacknowledged attempt
                self.errors += 1
                self.last_error = f"{type(e).__name__}: {e}"
                self._event(began, self.last_error[:160])
                if client is not None and not isinstance(e, redis.exceptions.RedisError):
                    # redis-py 4.3.4 can leave a cluster client broken after a failed
                    # topology refresh; a real application would build a new one too.
                    try:
                        client.close()
                    except Exception:  # noqa: BLE001
                        pass
                    client = None
                self.stop_event.wait(0.01)
                continue
            now = time.monotonic()
            if now - began > SLOW:
                self._event(began, "acknowledged")
            else:
                self._took(began)
            self.acked[key] += 1
            second = int(now - self.started)
            self.acked_per_second[second] = self.acked_per_second.get(second, 0) + 1
            if value < self.last_value[key]:
                self.backwards.append((key, self.last_value[key], value))
            self.last_value[key] = value
            self._gap(now, last_ack)
            last_ack = now
            self.stop_event.wait(self.interval)
        # Writes still failing when the run ends are a gap too.
        self._gap(time.monotonic(), last_ack)
        if client is not None:
            client.close()


class CounterWriter:
    def __init__(self, sts, keys_per_shard=4, interval=0.002, max_seconds=900, socket_timeout=1.0):
        self.sts = sts
        self.shards = shard_ranges(sts)
        self.keys = keys_for_shards(self.shards, keys_per_shard)
        self._stop = threading.Event()
        self.threads = [_ShardWriter(sts, i, keys, interval, self._stop, max_seconds,
                                     socket_timeout)
                        for i, keys in enumerate(self.keys)]

    def start(self):
        self.started = time.monotonic()  # the threads' own starts follow within milliseconds
        for t in self.threads:
            t.start()
        return self

    def use_password(self, password):
        """Every thread builds a new client with `password` before its next write (the
        StatefulSet's password changes for every client it makes)."""
        self.sts.password = password

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(30)

    @property
    def longest_gap(self):
        return max(t.max_gap for t in self.threads)

    def rate(self):
        """Acknowledged writes per second, all shards together, from the start to the last
        second with a write: [writes in second 0, in second 1, ...]."""
        seconds = [s for t in self.threads for s in t.acked_per_second]
        if not seconds:
            return []
        return [sum(t.acked_per_second.get(s, 0) for t in self.threads)
                for s in range(max(seconds) + 1)]

    def slowest(self):
        """The slowest attempt (acknowledged or failed) of each second, all shards together, in
        seconds: [slowest in second 0, in second 1, ...] (0 for a second without an attempt)."""
        seconds = [s for t in self.threads for s in t.slowest_per_second]
        if not seconds:
            return []
        return [max(t.slowest_per_second.get(s, 0.0) for t in self.threads)
                for s in range(max(seconds) + 1)]

    def totals(self):
        return (sum(sum(t.attempted.values()) for t in self.threads),
                sum(sum(t.acked.values()) for t in self.threads))

    def check_counters(self, excess_ok=False):
        """Problems with the final counter values: empty when no acknowledged write was lost
        and no counter holds more than was attempted. With excess_ok, a counter above its
        attempts is kept in self.excess instead: redis-py 4.3.4 retries an INCR whose reply it
        did not get in time on a new connection while the first one was applied (a client's
        double write, not the cluster's; tests/lib/chaos.py reports it the same way)."""
        self.excess = []
        client = self.sts.cluster_client(socket_timeout=2)
        problems = [f"{k} went back from {a} to {b}" for t in self.threads
                    for k, a, b in t.backwards]
        try:
            for t in self.threads:
                for key in t.keys:
                    value = int(client.get(key) or 0)
                    if value < t.acked[key]:
                        problems.append(f"{key}: {value} < {t.acked[key]} acknowledged (lost)")
                    if value > t.attempted[key]:
                        (self.excess if excess_ok else problems).append(
                            f"{key}: {value} > {t.attempted[key]} attempted")
        finally:
            client.close()
        return problems

    def report(self):
        lines = []
        for t, ranges in zip(self.threads, self.shards):
            slots = ",".join(f"{a}-{b}" for a, b in ranges)
            at = ""
            if t.max_gap_at is not None:
                wall = time.strftime("%H:%M:%S", time.gmtime(t.started_wall + t.max_gap_at))
                frac = f"{(t.started_wall + t.max_gap_at) % 1:.3f}"[1:]
                at = f" at +{t.max_gap_at:.1f}s ({wall}{frac} UTC)"
            lines.append(f"shard {t.index} (slots {slots}): longest write gap {t.max_gap:.3f}s{at}, "
                         f"{sum(t.acked.values())} acknowledged of {sum(t.attempted.values())} "
                         f"attempted, {t.errors} errors"
                         + (f" (last: {t.last_error})" if t.last_error else ""))
            events = t.gap_events()
            if len(events) > SHOWN_EVENTS:  # the first few and the last ones tell the story
                hidden = len(events) - SHOWN_EVENTS
                events = events[:4] + [(None, None, f"... {hidden} more")] + \
                    events[4 - SHOWN_EVENTS:]
            for began, took, outcome in events:
                what = f"an attempt took {took:.3f}s: " if took is not None else ""
                at = f"+{began:.3f}s " if began is not None else ""
                lines.append(f"    in that gap: {at}{what}{outcome}")
        return lines
