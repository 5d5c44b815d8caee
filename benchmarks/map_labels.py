"""Cost and quality of the label placement on a scatter map (adjustText), by iteration budget.

Draws 1,000 points in 8 Gaussian clusters on a 15 x 15 inch figure (the maps' default size),
labels 100 of them (the default ``plots.n_labels``) and lets adjustText move the labels with
0, 20, 40, 50, 80 and 200 iterations and with adjustText's own default (a 0.5 s time limit).
Prints the CPU time of ``adjust_text`` and the number of overlapping label pairs left (from the
drawn text extents). The result chose ``tastemap.plots.LABEL_ITERATIONS``::

    OPENBLAS_NUM_THREADS=1 python benchmarks/map_labels.py
"""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from adjustText import adjust_text  # noqa: E402

BUDGETS = [0, 20, 40, 50, 80, 200, None]  # None: adjustText's default (time_lim 0.5 s)


def overlapping_pairs(fig, texts) -> int:
    """Pairs of labels whose drawn extents overlap."""
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    return sum(boxes[i].overlaps(boxes[j]) for i in range(len(boxes))
               for j in range(i + 1, len(boxes)))


def main() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3, size=(8, 2))
    xy = np.concatenate([rng.normal(loc=c, scale=0.5, size=(125, 2)) for c in centres])
    pick = rng.choice(len(xy), 100, replace=False)
    print("| adjustText iterations | CPU s | overlapping label pairs |\n|---|---:|---:|")
    for budget in BUDGETS:
        fig, ax = plt.subplots(figsize=(15, 15), dpi=100)
        ax.scatter(xy[:, 0], xy[:, 1], s=4)
        texts = [ax.text(xy[i, 0], xy[i, 1], f"Artist name number {i}", fontsize=8) for i in pick]
        start = time.process_time()
        if budget != 0:
            kwargs = {} if budget is None else {"iter_lim": budget}
            adjust_text(texts, x=xy[pick, 0], y=xy[pick, 1], ax=ax,
                        arrowprops=dict(arrowstyle="-", color="0.4", lw=0.5), **kwargs)
        cpu = time.process_time() - start
        fig.canvas.draw()
        name = "default (0.5 s limit)" if budget is None else str(budget)
        print(f"| {name} | {cpu:.2f} | {overlapping_pairs(fig, texts)} |")
        plt.close(fig)


if __name__ == "__main__":
    main()
