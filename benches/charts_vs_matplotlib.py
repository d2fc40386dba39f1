"""Chart rendering: aftersight (plotters) against matplotlib, side by side.

Runs `cargo bench --bench charts` (release) and then draws the same charts with
matplotlib's Agg backend at the same pixel size (1920 x 1080, our 2x PNG),
best and median of five after a warm-up, and prints one table.

    python benches/charts_vs_matplotlib.py

Needs matplotlib and numpy (PyPI).
"""

import io
import json
import os
import statistics
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(draw):
    draw()
    times = []
    size = 0
    for _ in range(5):
        started = time.perf_counter()
        size = draw()
        times.append(time.perf_counter() - started)
    times.sort()
    return {"best_s": times[0], "median_s": statistics.median(times), "bytes": size}


def save(fig, fmt="png"):
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=200)
    plt.close(fig)
    return buffer.tell()


def bar():
    fig, ax = plt.subplots(figsize=(9.6, 5.4))
    labels = [f"station {i:02}" for i in range(30)]
    values = [1000 + 37 * i for i in range(30)]
    ax.barh(labels, values, color="#0072B2")
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:,}", va="center", fontsize=6)
    ax.set_title("bar_30_png")
    return save(fig)


def scatter(n, fmt="png"):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(n)
    y = 0.6 * x + rng.standard_normal(n)
    groups = np.arange(n) % 5

    def draw():
        fig, ax = plt.subplots(figsize=(9.6, 5.4))
        ax.scatter(x, y, c=groups, s=0.5, cmap="tab10", linewidths=0, rasterized=False)
        ax.set_title(f"scatter {n}")
        return save(fig, fmt)

    return draw


def main():
    env = dict(os.environ)
    out = subprocess.run(
        ["cargo", "bench", "--bench", "charts"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    ours = json.loads(out.strip().splitlines()[-1])
    theirs = {
        "bar_30_png": timed(bar),
        "scatter_100k_png": timed(scatter(100_000)),
        "scatter_1m_png": timed(scatter(1_000_000)),
    }
    print(f"{'chart':<24}{'aftersight best':>16}{'median':>10}{'matplotlib best':>17}{'median':>10}{'ratio':>8}")
    for name, mine in ours.items():
        peer = theirs.get(name)
        ratio = f"{mine['median_s'] / peer['median_s']:.2f}" if peer else "–"
        peer_best = f"{peer['best_s']:.3f}" if peer else "–"
        peer_median = f"{peer['median_s']:.3f}" if peer else "–"
        print(
            f"{name:<24}{mine['best_s']:>16.3f}{mine['median_s']:>10.3f}{peer_best:>17}{peer_median:>10}{ratio:>8}"
            f"   ({mine['bytes']:,} bytes)"
        )


if __name__ == "__main__":
    sys.exit(main())
