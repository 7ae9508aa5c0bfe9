"""One way for tests to wait for a condition: poll until it holds or a deadline passes."""
import socket
import time


class WaitTimeout(AssertionError, TimeoutError):
    """What did not happen in time: a failed assertion to pytest, a TimeoutError to callers
    that wait for something that may never come."""


def wait_for(what, check, timeout=30, interval=0.1):
    """Calls check() every `interval` seconds until it returns something truthy, and returns
    that. A check may instead return (ok, detail): then waiting ends when ok is true, detail is
    returned, and the last detail seen is shown when `what` does not happen within `timeout`
    seconds (WaitTimeout)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        result = check()
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], bool):
            ok, last = result
            if ok:
                return last
        elif result:
            return result
        else:
            last = result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what}: not within {timeout}s (last seen: {last!r})")
        time.sleep(interval)


def wait_listening(ip, port, timeout=15):
    """Waits until something accepts TCP connections at ip:port."""
    def accepts():
        try:
            socket.create_connection((ip, port), timeout=0.2).close()
            return True
        except OSError:
            return False
    wait_for(f"something listening at {ip}:{port}", accepts, timeout, interval=0.05)
