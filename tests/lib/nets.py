"""Which loopback networks (127.N.x.x) a test process may use.

Test processes run side by side: meson runs end-to-end modules two or more at a time, and
several checkouts may run their tests on one machine. Each process claims a range of SPAN
networks of its own by holding a lock file (/tmp/rca-test-nets/<slot>.lock) for as long as it
lives; the kernel drops the lock when the process exits, however it exits. RCA_TEST_NET_BASE (and
RCA_TEST_NET_SPAN, default SPAN) pins a range by hand instead.

`python3 tests/lib/nets.py COMMAND...` claims a range, then runs COMMAND with RCA_TEST_NET_BASE
and RCA_TEST_NET_SPAN set to it, still holding the lock (for tests not written in Python).
"""
import fcntl
import os
import sys

FIRST = 20
SPAN = 13
SLOTS = (255 - FIRST) // SPAN
LOCK_DIR = "/tmp/rca-test-nets"
DEMO_NET = 77  # scripts/demo's local StatefulSet (127.77.x): never handed to a test

_claimed = []  # (first, span, open lock file): one per process, held until it exits


def _pinned():
    base = os.environ.get("RCA_TEST_NET_BASE", "")
    if base == "":  # meson sets it empty: its modules run side by side and must claim
        return None
    first, span = int(base), int(os.environ.get("RCA_TEST_NET_SPAN", str(SPAN)))
    if not (1 <= first and first + span <= 255 and span >= 4):
        raise ValueError(f"RCA_TEST_NET_BASE={first} RCA_TEST_NET_SPAN={span}: "
                         "need 1 <= base, base + span <= 255, span >= 4")
    return first, span


def _claim():
    os.makedirs(LOCK_DIR, exist_ok=True)
    for slot in range(SLOTS):
        f = open(os.path.join(LOCK_DIR, f"{slot}.lock"), "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            continue
        return FIRST + slot * SPAN, SPAN, f
    raise RuntimeError(f"all {SLOTS} test network ranges are held by running tests "
                       f"({LOCK_DIR}); wait for some to end")


def net_range():
    """(first network, how many) this process owns."""
    pinned = _pinned()
    if pinned is not None:
        return pinned
    if not _claimed:
        _claimed.append(_claim())
    first, span, _ = _claimed[0]
    return first, span


def base():
    return net_range()[0]


def last():
    """The range's highest network: for a module's fixed addresses, clear of the networks the
    sts_factory fixture hands out from the bottom."""
    first, span = net_range()
    return first + span - 1


def pool():
    """Every network of the range but the last (and the demo's), in order, for the sts_factory
    fixture."""
    first, span = net_range()
    return iter(n for n in range(first, first + span - 1) if n != DEMO_NET)


def _run(argv):
    first, span = net_range()
    if _claimed:
        os.set_inheritable(_claimed[0][2].fileno(), True)  # the lock outlives the exec
    env = dict(os.environ, RCA_TEST_NET_BASE=str(first), RCA_TEST_NET_SPAN=str(span))
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: nets.py COMMAND [ARG...]")
    _run(sys.argv[1:])
