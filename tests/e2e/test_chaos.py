"""Issue 12: chaos in the loop. Random faults (tests/lib/chaos.py) on a 6-pod local StatefulSet
under the counter writer; after every round the cluster heals, no counter goes backwards and no
acknowledged write is lost to a graceful fault.

The faults come from a seeded RNG: the seed is printed at the start and is in every failure
message; RCA_CHAOS_SEED=<seed> replays it (RCA_CHAOS_ROUNDS sets the number of rounds, 6 by
default: CI's short run). Without RCA_CHAOS_SEED every run draws a new seed, so CI covers a
different sequence each time; any run of 9 rounds meets every fault. bench/chaos.py runs many.
"""
import os
import random

from chaos import FAULTS, SEED_ENV, Chaos
from writer import CounterWriter


def test_random_faults_heal_and_lose_no_acknowledged_write(sts_factory):
    seed = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2 ** 32))
    rounds = int(os.environ.get("RCA_CHAOS_ROUNDS", "6"))
    print(f"\nchaos seed {seed} ({rounds} rounds; replay with {SEED_ENV}={seed})", flush=True)
    sts = sts_factory(pods=6, replicas=1)
    sts.up()
    sts.wait_ready(timeout=90)
    writer = CounterWriter(sts).start()
    chaos = Chaos(sts, writer, seed, log=lambda line: print(line, flush=True))
    try:
        for _ in range(rounds):
            chaos.run_round()
    finally:
        writer.stop()
    print("\n".join(writer.report()))
    # Every round checked the counters already (Chaos.run_round fails on a regression).
    attempted, acked = writer.totals()
    assert acked > 100 * rounds, f"seed {seed}: the writer barely wrote: {writer.report()}"
    assert all(r.heal_s is not None for r in chaos.rounds)
    assert {r.fault for r in chaos.rounds} <= set(FAULTS)
