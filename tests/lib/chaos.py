"""Chaos rounds on the local StatefulSet, shared by tests/e2e/test_chaos.py and bench/chaos.py.

Each round injects one fault drawn from a seeded RNG into a healthy cluster under the counter
writer (tests/lib/writer.py), undoes it the way Kubernetes would, and then waits until the
cluster has healed: `redis-cluster-agent status` healthy with no warnings (every slot served,
every node at its current address, every replica's link up), `redis-cli --cluster check` clean
and every agent's /readyz answering 200. The time from the end of the fault (the last process
started again, the last record or rule removed) to that moment is the round's heal time; the
time until `status` alone was healthy (every slot served, every node agreed on, replicas maybe
still in their first sync) is its serving time.

After every round the counters are read: a counter that went backwards (an INCR answered less
than an earlier one) is always a failure; a counter holding less than its acknowledged
increments is a failure after a graceful fault (preStop handover, then SIGTERM) and reported
as "lost" after the others; one holding more than was attempted is reported as "excess" (the
client retried an INCR that Redis had applied). No fault here is meant to lose data: crashed containers come back
at once with their volume, two pods at once are never both pods of one shard, and a wiped
volume is only ever a pod that handed over first.

The faults (FAULTS), each round's draw from a deck that is shuffled with the seed and dealt in
full before it is shuffled again, so that any run of len(FAULTS) rounds meets every fault:
  graceful_delete  kubectl delete pod: preStop (handover), SIGTERM; back on the same or a new IP
  kill_redis       redis-server SIGKILLed; the kubelet restarts the container in place
  kill_agent       the agent SIGKILLed; restarted in place
  kill_both        both SIGKILLed; both restarted in place
  new_ip           the pod SIGKILLed (its node lost) and recreated on a new IP with its volume
  wipe             graceful delete, the volume lost: back on a new IP with an empty data dir,
                   must rejoin as a replica
  two_pods         two pods of different shards deleted gracefully at once, back on new IPs
  partition        the pod silently unreachable (nftables drops every packet to and from its
                   address) for 1.5-3.5 s, below cluster-node-timeout
  stale_dns        the pod SIGKILLed; for 2-4 s every other agent resolves its name to another
                   live pod's address or to its old, dead one; then the pod comes back on a
                   new IP with its correct record
"""
import random
import signal
import threading
import time

import agent_http
from wait import wait_for

FAULTS = ("graceful_delete", "kill_redis", "kill_agent", "kill_both", "new_ip", "wipe",
          "two_pods", "partition", "stale_dns")
GRACEFUL = {"graceful_delete", "wipe", "two_pods"}
SEED_ENV = "RCA_CHAOS_SEED"


class ChaosFailure(AssertionError):
    pass


class Round:
    def __init__(self, number, fault, targets, detail=""):
        self.number, self.fault, self.targets, self.detail = number, fault, targets, detail
        self.heal_s = None  # None: did not heal
        self.serving_s = None  # until `status` was healthy (replicas may still be syncing)
        self.healing_since = None
        self.fault_s = 0.0  # how long injecting and undoing the fault took
        self.backwards = []  # INCR answered less than before: never allowed
        self.lost = []  # acknowledged increments missing: allowed only after a hard fault
        # More than was attempted: redis-py retries an INCR that timed out or whose connection
        # broke (cluster.py _execute_command, up to 5 times) on a new connection, while the
        # first one was applied anyway (before the break, or delivered by TCP's retransmission
        # once a partition ends). A client's double write, not the cluster's: reported, not a
        # regression. Failed attempts that never reached Redis can hide it again later.
        self.excess = []
        self.excess_total = 0  # increments above the attempts, over all counters

    @property
    def regressions(self):
        return self.backwards + (self.lost if self.fault in GRACEFUL else [])

    def describe(self):
        pods = ", ".join(f"redis-{t}" for t in self.targets)
        return f"round {self.number}: {self.fault} on {pods}{' (' + self.detail + ')' if self.detail else ''}"


class Chaos:
    """Runs rounds on `sts` (healthy, with `writer` running). `seed` makes every draw
    replayable; `log` gets one line per round."""

    def __init__(self, sts, writer, seed, heal_timeout=120, log=print):
        self.sts, self.writer, self.seed = sts, writer, seed
        self.rng = random.Random(seed)
        self.heal_timeout, self.log = heal_timeout, log
        self.deck = []
        self.rounds = []
        self._seen_backwards = 0

    # ----- drawing -----

    def _draw_fault(self):
        if not self.deck:
            self.deck = list(FAULTS)
            self.rng.shuffle(self.deck)
        return self.deck.pop()

    def _shard_of(self, i):
        """The ordinals of pod i's shard (its master and every replica of it)."""
        sts = self.sts
        nodes = sts.cluster_nodes(i)
        me = next(n for n in nodes if "myself" in n[2])
        master_id = me[0] if "master" in me[2] else me[3]
        ids = {n[0] for n in nodes if n[0] == master_id or n[3] == master_id}
        return {p.ordinal for p in sts.pods if sts.command(p.ordinal, "CLUSTER", "MYID") in ids}

    def _targets(self, fault):
        first = self.rng.randrange(self.sts.size)
        if fault != "two_pods":
            return [first]
        others = sorted(set(range(self.sts.size)) - self._shard_of(first))
        return [first, self.rng.choice(others)]

    # ----- faults -----

    def _graceful_delete(self, r, i):
        new_ip = self.rng.random() < 0.5
        r.detail = "new IP" if new_ip else "same IP"
        self._delete(i)
        self.sts.start_pod(i, new_ip=new_ip)

    def _delete(self, i):
        pre = self.sts.delete_pod(i)
        if pre.rc != 0:
            raise ChaosFailure(f"preStop of redis-{i} failed: {pre!r}")

    def _kill_container(self, r, i, which):
        away = round(self.rng.uniform(0, 1), 2)
        r.detail = f"back after {away}s"
        self.sts.restart_container(i, which, away=away)

    def _kill_redis(self, r, i):
        self._kill_container(r, i, "redis")

    def _kill_agent(self, r, i):
        self._kill_container(r, i, "agent")

    def _kill_both(self, r, i):
        away = round(self.rng.uniform(0, 1), 2)
        r.detail = f"back after {away}s"
        p = self.sts.pods[i]
        for proc in (p.redis, p.agent):
            proc.send(signal.SIGKILL)
        self.sts.restart_container(i, "redis", away=away)
        self.sts.restart_container(i, "agent")

    def _new_ip(self, r, i):
        self.sts.kill_pod(i)
        self.sts.start_pod(i, new_ip=True)

    def _wipe(self, r, i):
        self._delete(i)
        self.sts.start_pod(i, new_ip=True, wipe=True)

    def _two_pods(self, r, a, b):
        errors = []

        def delete(i):
            try:
                self._delete(i)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=delete, args=(i,)) for i in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.sts.start_pods([a, b], new_ip=True)

    def _partition(self, r, i):
        seconds = round(self.rng.uniform(1.5, 3.5), 2)
        r.detail = f"{seconds}s"
        try:
            self.sts.isolate(self.sts.pods[i].ip)
            time.sleep(seconds)
        finally:
            self.sts.silencer.clear()

    def _stale_dns(self, r, i):
        sts = self.sts
        seconds = round(self.rng.uniform(2, 4), 2)
        old_ip = sts.pods[i].ip
        live = [p.ordinal for p in sts.pods if p.ordinal != i]
        other = self.rng.choice(live + [None])
        wrong = old_ip if other is None else sts.pods[other].ip
        r.detail = f"{seconds}s at " + ("its old address" if other is None else f"redis-{other}")
        sts.kill_pod(i)
        try:
            sts.stale_records({i: wrong}, live)
            time.sleep(seconds)
        finally:
            sts.write_hosts()
        sts.start_pod(i, new_ip=True)

    # ----- checks -----

    def _cluster_check(self):
        rc, out = self.sts.cluster_check()
        bad = [l for l in out.splitlines() if "[ERR]" in l or "[WARNING]" in l]
        return rc == 0 and not bad, bad or out[-300:]

    def _unready(self):
        return [p.name for p in self.sts.pods
                if agent_http.get(p.ip, "/readyz")[0] != 200]

    def _healed(self, r):
        ok, out = self.sts.healthy()
        if ok and r.serving_s is None:
            r.serving_s = time.monotonic() - r.healing_since
        if not ok or out.get("warnings"):
            return False, (out.get("problems") or out.get("warnings")) if isinstance(out, dict) else out
        unready = self._unready()
        if unready:
            return False, f"not ready: {unready}"
        ok, detail = self._cluster_check()
        if not ok:
            return False, f"redis-cli --cluster check: {detail}"
        if r.fault == "wipe" and self.sts.role(r.targets[0]) != "slave":
            return False, f"the wiped redis-{r.targets[0]} is {self.sts.role(r.targets[0])}"
        return True, None

    def _counters(self, r):
        """Counters after round r: every acknowledged increment still there (read the
        acknowledged counts before the values, the attempted after them)."""
        threads = self.writer.threads
        acked = [dict(t.acked) for t in threads]
        client = self.sts.cluster_client(socket_timeout=2)
        try:
            values = [{k: int(client.get(k) or 0) for k in t.keys} for t in threads]
        finally:
            client.close()
        attempted = [dict(t.attempted) for t in threads]
        for a, v, n in zip(acked, values, attempted):
            for key in v:
                if v[key] < a[key]:
                    r.lost.append(f"{key}: {v[key]} < {a[key]} acknowledged")
                if v[key] > n[key]:
                    r.excess.append(f"{key}: {v[key]} > {n[key]} attempted")
                    r.excess_total += v[key] - n[key]
        all_backwards = [f"{k} went back from {a} to {b}" for t in threads
                         for k, a, b in t.backwards]
        r.backwards += all_backwards[self._seen_backwards:]
        self._seen_backwards = len(all_backwards)

    # ----- a round -----

    def fail(self, r, what):
        raise ChaosFailure(f"{r.describe()}: {what} (seed {self.seed}; replay with "
                           f"{SEED_ENV}={self.seed})")

    def run_round(self):
        fault = self._draw_fault()
        r = Round(len(self.rounds) + 1, fault, self._targets(fault))
        self.rounds.append(r)
        t0 = time.monotonic()
        try:
            getattr(self, "_" + fault)(r, *r.targets)
        except ChaosFailure as e:
            self.fail(r, str(e))
        t1 = r.healing_since = time.monotonic()
        r.fault_s = t1 - t0
        try:
            wait_for(f"the cluster to heal after {r.describe()}", lambda: self._healed(r),
                     timeout=self.heal_timeout, interval=0.1)
        except AssertionError as e:
            self.fail(r, str(e))
        r.heal_s = time.monotonic() - t1
        self._counters(r)
        self.log(f"{r.describe()}: fault {r.fault_s:.1f}s, serving in {r.serving_s:.2f}s, "
                 f"healed in {r.heal_s:.2f}s"
                 + (f"; lost {r.lost}" if r.lost else "")
                 + (f"; excess {r.excess}" if r.excess else "")
                 + (f"; backwards {r.backwards}" if r.backwards else ""))
        if r.regressions:
            self.fail(r, f"counters: {r.regressions}")
        return r
