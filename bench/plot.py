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


def moves_and_latency(path, title, runs):
    """Draws, per run, keys moved and the writer's slowest write of each second over time, one
    column per run (each on its own time axis: the runs differ in length by far).

    runs: [(label, [(seconds since the move started, keys moved), ...],
            [(second since the move started, slowest write in seconds), ...], move seconds)].
    Returns the path written, or None (with the reason printed) when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no picture: python3-matplotlib is not installed; "
              "scripts/install-bench-tools.sh installs it)")
        return None
    fig, axes = plt.subplots(2, len(runs), figsize=(5 * len(runs), 5.5), sharex="col",
                             squeeze=False)
    top = max([ms for _, _, lat, _ in runs for _, ms in lat] or [0.001]) * 1000
    for col, (label, moved, latency, seconds) in enumerate(runs):
        keys_ax, lat_ax = axes[0, col], axes[1, col]
        keys_ax.plot([t for t, _ in moved], [k for _, k in moved], linewidth=1.2)
        keys_ax.set_title(f"{label}: {seconds:.1f} s", fontsize=10, loc="left")
        keys_ax.set_ylabel("keys on the new master")
        lat_ax.plot([s for s, _ in latency], [v * 1000 for _, v in latency],
                    drawstyle="steps-post", color="tab:red", linewidth=1.2)
        lat_ax.set_ylabel("slowest write of the second (ms)")
        lat_ax.set_ylim(0, max(top * 1.1, 500 * 1.1))
        lat_ax.axhline(500, color="grey", linewidth=0.6, linestyle=":")  # the 0.5 s goal
        lat_ax.set_xlabel("seconds since the move started")
        for ax in (keys_ax, lat_ax):
            ax.axvspan(0, seconds, color="tab:green", alpha=0.08)  # the move
            ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"picture: {path}")
    return path
