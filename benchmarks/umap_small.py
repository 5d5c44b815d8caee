"""UMAP of a small map (under 4,096 points): umap-learn's own exact distances against
scikit-learn's, given as ``metric="precomputed"`` (``tastemap.explore.fit_umap``).

Below 4,096 points umap-learn computes every pairwise distance by handing its numba metric to
scikit-learn's ``pairwise_distances`` as a Python callable (one call per pair). The script maps
8 Gaussian clusters in 32 dimensions (1,000 and 3,000 points, the sizes of the default run's
maps) both ways, in one process after a warm-up fit, and prints the CPU time of each fit and the
trustworthiness of each map (10 neighbours, the map's metric)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/umap_small.py
"""
from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.manifold import trustworthiness

from tastemap.core.numba_cache import import_umap
from tastemap.explore import fit_umap


def points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3, size=(8, 32))
    return (centres[rng.integers(0, 8, n)] + rng.normal(size=(n, 32))).astype(np.float32)


def main() -> None:
    umap = import_umap()
    warnings.filterwarnings("ignore", category=UserWarning)
    umap.UMAP(random_state=0).fit_transform(points(300))  # loads the compiled code once
    print("| points | metric | umap-learn's distances: CPU s, trustworthiness "
          "| scikit-learn's (fit_umap): CPU s, trustworthiness |\n|---:|---|---|---|")
    for n in (1000, 3000):
        X = points(n)
        for metric in ("cosine", "euclidean"):
            row = []
            for run in ("umap-learn", "fit_umap"):
                t = time.process_time()
                if run == "umap-learn":
                    Y = umap.UMAP(metric=metric, random_state=0).fit_transform(X)
                else:
                    Y = fit_umap(X, metric=metric, random_state=0)
                cpu = time.process_time() - t
                row.append(f"{cpu:.1f}, {trustworthiness(X, Y, n_neighbors=10, metric=metric):.4f}")
            print(f"| {n:,} | {metric} | {row[0]} | {row[1]} |", flush=True)


if __name__ == "__main__":
    main()
