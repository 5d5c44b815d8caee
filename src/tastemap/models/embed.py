"""2-D maps of latent factors (users or items) with UMAP."""
from __future__ import annotations

import numpy as np


def umap_2d(
    factors: np.ndarray, seed: int, n_neighbors: int = 15, min_dist: float = 0.1,
    max_points: int = 20000, metric: str = "cosine",
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``factors`` (n, f) to 2-D with UMAP (seeded, hence single-threaded).

    At most ``max_points`` rows (a seeded random sample, in index order) are mapped: UMAP on all
    358K Last.fm users would take far longer than the fit. Returns ``(rows, coords)``: the row
    indices mapped (m,) and their coordinates (m, 2).
    """
    from tastemap.explore import umap_epochs  # fewer epochs for large maps (measured there)
    from tastemap.numba_cache import import_umap  # umap-learn with its numba code cached on disk

    umap = import_umap()
    factors = np.asarray(factors, dtype=np.float32)
    n = len(factors)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, max(2, len(rows) - 1)),
                        min_dist=min_dist, metric=metric, n_epochs=umap_epochs(len(rows)),
                        random_state=int(seed))
    coords = reducer.fit_transform(factors[rows])
    return rows, np.asarray(coords, dtype=np.float32)
