"""A process' memory as the tests judge it."""


def rss_mb(pid):
    """Resident set size of `pid` in MB (0.0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def sanitized(pid):
    """True for a process built with ASan or TSan: their shadow memory sets its resting RSS
    (~100-190 MB), so only growth is meaningful there, not an absolute ceiling."""
    with open(f"/proc/{pid}/maps") as f:
        return any("libasan" in line or "libtsan" in line for line in f)
