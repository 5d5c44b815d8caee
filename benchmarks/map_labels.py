"""Cost and quality of the label placement on a scatter map (adjustText), by iteration budget.

Draws 1,000 or 3,000 points in 8 Gaussian clusters on a 15 x 15 inch figure (the maps' default
size), labels 100 of them (the default ``plots.n_labels``) and lets adjustText move the labels
with 0, 20, 40, 50, 80 and 200 iterations and with adjustText's own default (a 0.5 s time
limit). Each budget is run twice: adjustText as released (``adjust_text``) and as tastemap runs
it (``tastemap.viz.labels.adjust_labels``: the same steps, two of them computed in bulk). Prints the
CPU time of each, whether every label ended in the same place, and the number of overlapping
label pairs left (from the drawn text extents). The result chose
``tastemap.viz.maps.LABEL_ITERATIONS``::

    OPENBLAS_NUM_THREADS=1 python benchmarks/map_labels.py [--points 3000]
"""
from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from adjustText import adjust_text  # noqa: E402

from tastemap.viz.labels import ARROW, adjust_labels  # noqa: E402

BUDGETS = [0, 20, 40, 50, 80, 200, None]  # None: adjustText's default (time_lim 0.5 s)


def overlapping_pairs(fig, texts) -> int:
    """Pairs of labels whose drawn extents overlap."""
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    return sum(boxes[i].overlaps(boxes[j]) for i in range(len(boxes))
               for j in range(i + 1, len(boxes)))


def place(xy, pick, budget, fast: bool):
    """Label placement on a fresh figure: (CPU s, label positions, overlapping pairs)."""
    fig, ax = plt.subplots(figsize=(15, 15), dpi=100)
    ax.scatter(xy[:, 0], xy[:, 1], s=4)
    texts = [ax.text(xy[i, 0], xy[i, 1], f"Artist name number {i}", fontsize=8) for i in pick]
    start = time.process_time()
    if budget == 0:
        pass
    elif fast and budget is not None:
        adjust_labels(texts, xy[pick, 0], xy[pick, 1], ax, budget)
    else:
        kwargs = {} if budget is None else {"iter_lim": budget}
        adjust_text(texts, x=xy[pick, 0], y=xy[pick, 1], ax=ax, arrowprops=ARROW, **kwargs)
    cpu = time.process_time() - start
    fig.canvas.draw()
    positions = np.array([t.get_position() for t in texts])
    pairs = overlapping_pairs(fig, texts)
    plt.close(fig)
    return cpu, positions, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    n = parser.parse_args().points
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3, size=(8, 2))
    xy = np.concatenate([rng.normal(loc=c, scale=0.5, size=(n // 8, 2)) for c in centres])
    pick = rng.choice(len(xy), 100, replace=False)
    place(xy, pick, 20, fast=True)  # imports and first-draw costs out of the table
    print(f"{len(xy)} points, 100 labels\n")
    print("| adjustText iterations | CPU s, adjustText | CPU s, tastemap.viz.labels "
          "| same positions | overlapping label pairs |\n|---|---:|---:|---|---:|")
    for budget in BUDGETS:
        cpu, positions, pairs = place(xy, pick, budget, fast=False)
        name = "default (0.5 s limit)" if budget is None else str(budget)
        if budget is None:  # a time limit: no fixed result to compare
            print(f"| {name} | {cpu:.2f} | | | {pairs} |")
            continue
        fast_cpu, fast_positions, _ = place(xy, pick, budget, fast=True)
        same = "yes" if np.array_equal(positions, fast_positions) else "NO"
        print(f"| {name} | {cpu:.2f} | {fast_cpu:.2f} | {same} | {pairs} |")


if __name__ == "__main__":
    main()
