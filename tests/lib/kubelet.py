"""Pod termination the way the kubelet does it: the redis container's preStop (the handover
client the agent installed in the runtime dir), SIGTERM, the grace period, and
`kubectl rollout restart` (highest ordinal first, each pod ready before the next).

A mixin of LocalStatefulSet (tests/lib/localsts.py)."""
import os
import signal
import subprocess
import time


class PreStop:
    """What a preStop hook run returned: rc None when the kubelet had to kill it."""

    def __init__(self, ordinal, rc, output, seconds):
        self.ordinal, self.rc, self.output, self.seconds = ordinal, rc, output, seconds

    @property
    def outcome(self):
        """'done', 'skipped' or 'failed' from the client's final line."""
        for word in ("done", "skipped", "failed"):
            if f"handover: {word}:" in self.output:
                return word
        return "failed"

    def __repr__(self):
        return f"PreStop(redis-{self.ordinal}, rc={self.rc}, {self.seconds:.3f}s, {self.output!r})"


class Kubelet:
    def prestop_argv(self, i, timeout="20s"):
        """The redis container's preStop exec: the static client the agent installed in the
        runtime dir (the emptyDir both containers mount)."""
        return [os.path.join(self.run_dir(i), "handover"), f"--runtime-dir={self.run_dir(i)}",
                f"--timeout={timeout}"]

    def prestop(self, i, timeout="20s", limit=60.0):
        """Runs pod i's preStop hook; the kubelet kills it after `limit` seconds."""
        t0 = time.monotonic()
        try:
            r = subprocess.run(self.prestop_argv(i, timeout), capture_output=True, text=True,
                               env=self.agent_env(), timeout=limit)
            rc, out = r.returncode, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            rc, out = None, f"{e.stdout or ''}{e.stderr or ''}preStop killed after {limit}s"
        except OSError as e:
            rc, out = 127, f"preStop could not run: {e}"
        return PreStop(i, rc, out, time.monotonic() - t0)

    def delete_pod(self, i, prestop=True, sidecar="native", grace=60.0, handover_timeout="20s",
                   after_prestop=None):
        """`kubectl delete pod` with terminationGracePeriodSeconds=grace: the preStop of the redis
        container (unless prestop=False, the tutorial's plain SIGTERM), then SIGTERM to redis.
        sidecar="native": the agent is stopped after redis has exited; "classic": the agent gets
        SIGTERM as the preStop starts. after_prestop(sts, i, result) runs between the preStop
        and redis' SIGTERM. Whatever still runs at the end of the grace period gets SIGKILL.
        Returns the PreStop result (None without preStop)."""
        p = self.pods[i]
        deadline = time.monotonic() + grace
        left = lambda: max(0.1, deadline - time.monotonic())  # noqa: E731
        if sidecar == "classic" and p.agent:
            p.agent.send(signal.SIGTERM)
        result = self.prestop(i, handover_timeout, left()) if prestop else None
        if after_prestop:
            after_prestop(self, i, result)
        if p.redis:
            p.redis.stop(signal.SIGTERM, left())
        if p.agent:
            p.agent.stop(signal.SIGTERM, left())
        p.running = False
        self.write_hosts()
        self.save()
        return result

    def rollout_restart(self, prestop=True, sidecar="native", new_ip=True, away=0.0,
                        ready_timeout=120, on_pod=None):
        """`kubectl rollout restart` of the StatefulSet: from the highest ordinal down, delete
        the pod (delete_pod), wait `away` seconds (the time Kubernetes takes to schedule the new
        pod and attach its volume), start it (on a new address unless new_ip=False) and wait
        until the cluster is ready again before the next pod. Returns one record per pod."""
        records = []
        for i in reversed(range(self.size)):
            role = self.role(i)
            t0 = time.monotonic()
            pre = self.delete_pod(i, prestop=prestop, sidecar=sidecar)
            t_stopped = time.monotonic()
            if away:
                time.sleep(away)
            self.start_pod(i, new_ip=new_ip)
            self.wait_ready(timeout=ready_timeout)
            rec = {"ordinal": i, "role": role, "prestop": pre, "stop_s": t_stopped - t0,
                   "total_s": time.monotonic() - t0, "ip": self.pods[i].ip}
            records.append(rec)
            if on_pod:
                on_pod(rec)
        return records

    @staticmethod
    def roll_report(title, records, writer):
        """What a rollout_restart under a CounterWriter did, as lines to print: each pod's
        preStop outcome and time, then the writer's report."""
        lines = [title]
        for rec in records:
            pre = rec["prestop"]
            lines.append(f"  redis-{rec['ordinal']} ({rec['role']}): preStop {pre.outcome} "
                         f"in {pre.seconds:.3f}s")
        return lines + ["  " + line for line in writer.report()]
