"""Processes of the local StatefulSet and of other test fixtures: started in their own session,
recorded by pid and start time (so a reused pid is never signalled), stopped by pid."""
import os
import signal
import subprocess
import time


def _proc_start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid, start_time):
    if not pid:
        return False
    st = _proc_start_time(pid)
    if st is None or st != start_time:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Process:
    """A child process known by pid and start time (so a recycled pid is never signalled)."""

    def __init__(self, pid, start_time, popen=None):
        self.pid, self.start_time, self.popen = pid, start_time, popen

    @classmethod
    def spawn(cls, argv, log_path, env=None):
        log = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env)
        log.close()
        return cls(p.pid, _proc_start_time(p.pid), p)

    def alive(self):
        if self.popen is not None and self.popen.poll() is not None:
            return False
        return _alive(self.pid, self.start_time)

    def send(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None:
                try:
                    self.popen.wait(timeout=0.02)
                    return True
                except subprocess.TimeoutExpired:
                    continue
            if not self.alive():
                return True
            time.sleep(0.02)
        return not self.alive()

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        self.send(sig)
        if not self.wait(timeout):
            self.send(signal.SIGKILL)
            self.wait(5)

    def to_json(self):
        return {"pid": self.pid, "start_time": self.start_time}

    @classmethod
    def from_json(cls, d):
        return cls(d["pid"], d["start_time"]) if d else None
