"""What the benchmarks print at the end: a table of two runs' longest write gaps per shard, and
the goals each marked PASS or FAIL (the exit status follows them)."""


def gap_table(names, first, second, ratio_digits=1):
    """Prints the longest gap per shard of two runs side by side with second/first, then their
    maxima; returns (worst of first, worst of second, ratio)."""
    width_a, width_b = max(9, len(names[0])), max(9, len(names[1]))
    print("\nlongest write gap per shard (s):")
    print(f"  {'shard':<6} {names[0]:>{width_a}} {names[1]:>{width_b}} {'ratio':>7}")
    for i, (a, b) in enumerate(zip(first, second)):
        print(f"  {i:<6} {a:>{width_a}.3f} {b:>{width_b}.3f} "
              f"{b / a if a else float('inf'):>6.{ratio_digits}f}x")
    worst_a, worst_b = max(first), max(second)
    ratio = worst_b / worst_a if worst_a else float("inf")
    print(f"  {'max':<6} {worst_a:>{width_a}.3f} {worst_b:>{width_b}.3f} "
          f"{ratio:>6.{ratio_digits}f}x")
    return worst_a, worst_b, ratio


def verdict(goals):
    """Prints each (text, met) goal; returns the exit status: 0 only when every goal is met."""
    print()
    for text, ok in goals:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in goals) else 1
