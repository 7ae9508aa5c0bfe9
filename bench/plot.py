"""Pictures of benchmark runs (PNG), drawn with Debian's python3-matplotlib
(scripts/install-bench-tools.sh). Without it the benchmarks still run and say what is missing."""


def writes_per_second(path, title, series):
    """Draws acknowledged writes per second over time, one line per run.

    series: [(label, [writes in second 0, in second 1, ...], [(second, text), ...] marks)].
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
    for ax, (label, rate, marks) in zip(axes[:, 0], series):
        ax.plot(range(len(rate)), rate, drawstyle="steps-post", linewidth=1.2)
        ax.set_ylabel("writes/s")
        ax.set_title(label, fontsize=10, loc="left")
        ax.grid(alpha=0.3)
        top = max(rate) if rate else 1
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
