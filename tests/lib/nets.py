"""Which loopback networks (127.N.x.x) a test process may use: RCA_TEST_NET_SPAN networks from
RCA_TEST_NET_BASE (defaults 100 and 30, for a module run by hand with pytest).

meson runs end-to-end modules side by side, so tests/e2e/meson.build gives each module a range
of its own. To run two checkouts' modules by hand at once, give each its own base.
"""
import os


def net_range():
    """(first network, how many) this process owns."""
    first = int(os.environ.get("RCA_TEST_NET_BASE", "100"))
    span = int(os.environ.get("RCA_TEST_NET_SPAN", "30"))
    if not (1 <= first and first + span <= 255 and span >= 4):
        raise ValueError(f"RCA_TEST_NET_BASE={first} RCA_TEST_NET_SPAN={span}: "
                         "need 1 <= base, base + span <= 255, span >= 4")
    return first, span


def base():
    return net_range()[0]


def last():
    """The range's highest network: for a module's fixed addresses, clear of the networks the
    sts_factory fixture hands out from the bottom."""
    first, span = net_range()
    return first + span - 1


def pool():
    """Every network of the range but the last, in order, for the sts_factory fixture."""
    first, span = net_range()
    return iter(range(first, first + span - 1))
