"""Pictures of benchmark runs (PNG), drawn with Debian's python3-matplotlib
(scripts/install-bench-tools.sh). Without it the benchmarks still run and say what is missing."""


def writes_per_second(path, title, series):
    """Draws acknowledged writes per second over time: one panel per run, one line per shard.

    series: [(label, [[shard 0's writes in second 0, in second 1, ...], ...],
              [(second, text), ...] marks)].
    Returns the path written, or None (with the reason printed) when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")  # no display: write the file only
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no picture: python3-matplotlib is not installed; "
              "scripts/install-bench-tools.sh installs it)")
        return None
    fig, axes = plt.subplots(len(series), 1, figsize=(10, 2.6 * len(series)), sharex=True,
                             squeeze=False)
    for ax, (label, rates, marks) in zip(axes[:, 0], series):
        for shard, rate in enumerate(rates):
            ax.plot(range(len(rate)), rate, drawstyle="steps-post", linewidth=1.1,
                    label=f"shard {shard}")
        ax.set_ylabel("writes/s")
        ax.set_title(label, fontsize=10, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
        top = max((max(r) for r in rates if r), default=1)
        ax.set_ylim(0, top * 1.9)  # room for the marks' labels above the line
        for second, text in marks:
            ax.axvline(second, color="grey", linewidth=0.6, linestyle=":")
            ax.text(second, top * 1.05, text, fontsize=7, rotation=90, va="bottom", ha="right")
    axes[-1, 0].set_xlabel("seconds since the writer started")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"picture: {path}")
    return path
