"""Keep UMAP's compiled code across processes: each map job is a new Python process.

umap-learn and pynndescent compile many of their numba functions without ``cache=True``
(e.g. ``umap.utils.fast_knn_indices``, ``umap.umap_.smooth_knn_dist``), so every process that
runs UMAP compiles them again: measured 13.6 CPU-s for the first ``fit_transform`` of 1,000
points in a fresh process against 1.9 CPU-s for the second. :func:`cache_umap` turns numba's
on-disk cache on for those functions (``NUMBA_CACHE_DIR``, set by the workflow), so only the
first map job of a machine compiles them and later ones load the machine code (1.9 CPU-s for
the first fit). The compiled functions are the same; the maps are identical with and without
the cache.
"""
from __future__ import annotations

import importlib

#: the modules whose numba functions UMAP calls (umap-learn 0.5, pynndescent 0.5)
UMAP_MODULES = (
    "umap.umap_", "umap.utils", "umap.layouts", "umap.distances", "umap.sparse", "umap.spectral",
    "pynndescent.pynndescent_", "pynndescent.utils", "pynndescent.distances",
    "pynndescent.sparse", "pynndescent.rp_trees", "pynndescent.sparse_nndescent",
    "pynndescent.graph_utils",
)


def cache_umap(modules: tuple[str, ...] = UMAP_MODULES) -> int:
    """Enable numba's disk cache for every not-yet-cached jitted function of ``modules``;
    returns how many functions it enabled (0 on a second call). Modules that are missing
    (another umap-learn version) are skipped. Imports umap: call it only in jobs that map.

    >>> cache_umap(("tastemap.jit",))   # a module without numba functions
    0
    """
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    enabled = 0
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for value in vars(module).values():
            if isinstance(value, Dispatcher) and isinstance(value._cache, NullCache):
                value.enable_caching()
                enabled += 1
    return enabled
