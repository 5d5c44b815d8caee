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
    # fewer epochs for large maps, scikit-learn's distances for small ones (measured there)
    from tastemap.explore.maps import fit_umap, umap_epochs

    factors = np.asarray(factors, dtype=np.float32)
    n = len(factors)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    coords = fit_umap(factors[rows], metric=metric,
                      n_neighbors=min(n_neighbors, max(2, len(rows) - 1)), min_dist=min_dist,
                      n_epochs=umap_epochs(len(rows)), random_state=int(seed))
    return rows, coords
