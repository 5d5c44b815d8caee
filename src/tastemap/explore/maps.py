"""2-D maps: the binary representation, its SVD, the PCA / t-SNE / UMAP projections and the
neighbour placement of new points (:mod:`tastemap.explore` describes the methods)."""
from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn import metrics as skmetrics
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

logger = logging.getLogger(__name__)

Side = Literal["users", "items"]
METHODS = ("pca", "umap", "tsne")
#: methods whose fitted model can place new rows (t-SNE has no transform)
PLACEABLE = ("pca", "umap")

# ---- representation ------------------------------------------------------------------------


def binarize(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Binary copy (float32, 1.0 where a play count is stored and non-zero) of ``matrix``."""
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.eliminate_zeros()
    out.data[:] = 1.0
    out.sort_indices()
    return out


def orient(user_items: sp.spmatrix, side: Side) -> sp.csr_matrix:
    """Rows to map: ``user_items`` itself (``users``, n_users x n_items) or its transpose
    (``items``, n_items x n_users), binarised, CSR."""
    if side == "users":
        return binarize(user_items)
    if side == "items":
        return binarize(sp.csr_matrix(user_items).T.tocsr())
    raise ValueError(f"side must be 'users' or 'items', not {side!r}")


def fit_svd(rows: sp.csr_matrix, n_components: int, seed: int) -> tuple[Pipeline, np.ndarray]:
    """High-dimensional representation: L2-normalise rows, TruncatedSVD, L2-normalise again.

    Parameters
    ----------
    rows : (n, d) sparse binary rows (one point per row).
    n_components : wanted dimension; capped at ``min(n, d) - 1``.
    seed : random_state of the randomized SVD.

    Returns
    -------
    pipeline : fitted ``Normalizer -> TruncatedSVD -> Normalizer``; ``transform`` maps new rows.
    embedding : (n, n_components) float32, unit rows (euclidean distance ~ cosine).
    """
    n_comp = max(1, min(n_components, min(rows.shape) - 1))
    pipe = Pipeline([
        ("l2", Normalizer()),
        ("svd", TruncatedSVD(n_components=n_comp, algorithm="randomized", random_state=seed)),
        ("unit", Normalizer()),
    ])
    emb = pipe.fit_transform(rows).astype(np.float32)
    logger.info("SVD %s -> %d components, explained variance %.3f", rows.shape, n_comp,
                float(pipe.named_steps["svd"].explained_variance_ratio_.sum()))
    return pipe, emb


# ---- projections ---------------------------------------------------------------------------


def project(
    rows: sp.csr_matrix,
    method: str,
    seed: int,
    svd: Pipeline | None = None,
    params: dict[str, Any] | None = None,
    n_jobs: int = 1,
    verbose: bool = False,
) -> tuple[np.ndarray, Pipeline | None]:
    """Project the rows of a binary matrix to 2-D.

    Parameters
    ----------
    rows : (n, d) sparse binary rows (see :func:`orient`).
    method : ``pca``, ``umap`` or ``tsne``.
    seed : random_state of every random component.
    svd : fitted pre-reduction from :func:`fit_svd` (required for ``tsne``, and for ``umap``
        with the cosine metric when ``d > params["reduce_above"]``).
    params : method options: umap ``n_neighbors``, ``min_dist``, ``metric`` (cosine|jaccard),
        ``reduce_above``, ``n_epochs`` (None: :func:`umap_epochs`), ``low_memory``; tsne
        ``perplexity``, ``max_iter``.
    n_jobs : threads of openTSNE (results do not depend on it). UMAP always runs
        single-threaded: ``random_state`` disables its parallel paths (reproducibility).
    verbose : let t-SNE and UMAP print their progress (iterations / epochs) to stdout; the
        workflow script sends stdout to the rule's log. Does not change the result.

    Returns
    -------
    coords : (n, 2) float32.
    model : fitted Pipeline whose ``transform`` places new rows (pca: exact; umap: from the
        nearest mapped points, :class:`NeighbourPlacement`) or ``None`` (tsne).
    """
    params = dict(params or {})
    if method == "pca":
        pipe = Pipeline([("l2", Normalizer()),
                         ("pca", TruncatedSVD(n_components=2, random_state=seed))])
        return pipe.fit_transform(rows).astype(np.float32), pipe
    if method == "tsne":
        if svd is None:
            raise ValueError("tsne needs the SVD pre-reduction (svd=...)")
        return tsne(svd.transform(rows), seed, params, n_jobs, verbose), None
    if method == "umap":
        return _umap_map(rows, seed, svd, params, verbose)
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def tsne(emb: np.ndarray, seed: int, params: dict[str, Any] | None = None, n_jobs: int = 1,
         verbose: bool = False) -> np.ndarray:
    """openTSNE (FFT-accelerated above 10,000 points, multi-threaded) of ``emb`` (n, d) -> (n, 2)
    float32: cosine affinities (exact neighbours below 1,000 points, Annoy above), PCA
    initialisation, 250 early-exaggeration iterations then ``max_iter - 250`` more (the same
    count scikit-learn's ``max_iter`` means); ``perplexity`` capped at (n - 1) / 3. Same seed ->
    same coordinates, whatever ``n_jobs``. Chosen over scikit-learn's t-SNE by measurement
    (docs/explore.md, "Speed"): same trustworthiness and ARI, several times less CPU."""
    from openTSNE import TSNE

    params = params or {}
    perplexity = min(float(params.get("perplexity", 30.0)), (len(emb) - 1) / 3)
    max_iter = int(params.get("max_iter", 750))
    model = TSNE(n_components=2, perplexity=perplexity, metric="cosine", initialization="pca",
                 early_exaggeration_iter=min(250, max_iter), n_iter=max(0, max_iter - 250),
                 n_jobs=n_jobs, random_state=seed, verbose=verbose)
    return np.asarray(model.fit(np.ascontiguousarray(emb, dtype=np.float64)), dtype=np.float32)


#: UMAP maps of up to this many points run :data:`UMAP_EPOCHS` epochs, larger ones
#: :data:`UMAP_LARGE_EPOCHS` (see umap_epochs)
UMAP_LARGE = 10_000
UMAP_EPOCHS = 200
UMAP_LARGE_EPOCHS = 100


def umap_epochs(n: int) -> int:
    """Optimisation epochs of a UMAP map of ``n`` points: :data:`UMAP_EPOCHS` (200, umap-learn's
    own count for large data; it runs 500 below 10,000 points) up to :data:`UMAP_LARGE` points,
    :data:`UMAP_LARGE_EPOCHS` above. Measured (docs/explore.md, "Speed"): on the default run's
    1,000-3,000-point maps 200 epochs take half the CPU of 500 (3,000 ALS item factors: 5.4 ->
    2.5 s) for 0.001-0.004 less trustworthiness and the same ARI against the planted genres;
    on 20,000 points 100 epochs cost 25 CPU s instead of 60 for the same ARI (0.816) and a
    trustworthiness of 0.964 instead of 0.971.

    >>> umap_epochs(3000), umap_epochs(20000)
    (200, 100)
    """
    return UMAP_LARGE_EPOCHS if n > UMAP_LARGE else UMAP_EPOCHS


#: below this many points umap-learn computes every pairwise distance (its exact "small data" path)
UMAP_EXACT_BELOW = 4096


def fit_umap(points, *, metric: str, **options) -> np.ndarray:
    """``umap.UMAP(metric=metric, **options).fit_transform(points)`` as float32 (n, 2), with the
    distances of a small map computed by scikit-learn.

    Below :data:`UMAP_EXACT_BELOW` points umap-learn computes all pairwise distances, by passing
    its numba metric to scikit-learn's ``pairwise_distances`` as a Python callable: one call per
    pair, 6 of the 7.5 CPU-s of a 3,000-point map. scikit-learn's vectorised cosine / euclidean
    distances give the same matrix in 0.1 s; UMAP takes it as ``metric="precomputed"`` and
    follows the same exact path from there (``benchmarks/umap_small.py``: same
    trustworthiness). Other metrics and larger maps (nearest-neighbour descent) go to umap-learn
    as they are.
    """
    import warnings

    from sklearn.metrics import pairwise_distances

    from tastemap.core.numba_cache import import_umap

    umap = import_umap()
    if points.shape[0] < UMAP_EXACT_BELOW and metric in ("cosine", "euclidean"):
        points, metric = pairwise_distances(points, metric=metric), "precomputed"
    model = umap.UMAP(n_components=2, metric=metric, **options)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(precomputed metric|overridden to 1)")
        return np.asarray(model.fit_transform(points), dtype=np.float32)


def _umap_map(rows: sp.csr_matrix, seed: int, svd: Pipeline | None, params: dict[str, Any],
              verbose: bool) -> tuple[np.ndarray, Pipeline]:
    """UMAP of the rows (on the SVD representation of wide matrices) and its placement model."""
    metric = params.get("metric", "cosine")
    reduce = metric == "cosine" and rows.shape[1] > int(params.get("reduce_above", 1000))
    if reduce and svd is None:
        raise ValueError("umap on a wide matrix needs the SVD pre-reduction (svd=...)")
    n_neighbors = max(2, min(int(params.get("n_neighbors", 15)), rows.shape[0] - 1))
    n_epochs = params.get("n_epochs") or umap_epochs(rows.shape[0])
    # jaccard works on sets: binary rows as they are; UMAP accepts sparse input
    steps = list(svd.steps) if reduce else []
    points = svd.transform(rows).astype(np.float32) if reduce else rows
    coords = fit_umap(points, metric=metric, n_neighbors=n_neighbors,
                      min_dist=float(params.get("min_dist", 0.1)), n_epochs=n_epochs,
                      low_memory=bool(params.get("low_memory", True)), random_state=seed,
                      transform_seed=seed, n_jobs=1, verbose=verbose)
    logger.info("UMAP on %s (%s, %s, %s epochs)", "SVD" if reduce else "sparse rows", metric,
                rows.shape, n_epochs)
    place = NeighbourPlacement(n_neighbors=n_neighbors, metric=metric).fit(points, coords)
    return coords, Pipeline(steps + [("place", place)])


class NeighbourPlacement(TransformerMixin, BaseEstimator):
    """Place new points on a fitted 2-D map from their nearest mapped points, without the map's
    own model (so a UMAP map needs no pickle).

    ``fit(X, coords)`` keeps the mapped points ``X`` (n, d) in the map's input space (dense SVD
    rows or sparse binary rows) and their map coordinates ``coords`` (n, 2). ``transform(X_new)``
    finds each new point's ``n_neighbors`` nearest mapped points (exact search, ``metric``
    cosine or jaccard) and returns the average of their coordinates weighted by UMAP's fuzzy
    membership strengths (umap-learn's ``smooth_knn_dist`` and ``compute_membership_strengths``
    with ``local_connectivity=0``): UMAP's own ``transform`` starts from exactly this point and
    then runs a few optimisation epochs, which this skips. How close it lands to UMAP's own
    placement is measured in docs/explore.md ("Placing new users").
    """

    def __init__(self, n_neighbors: int = 15, metric: str = "cosine"):
        self.n_neighbors = n_neighbors
        self.metric = metric

    def fit(self, X, coords):
        """Keep the mapped points ``X`` (n, d) and their coordinates ``coords`` (n, 2)."""
        if self.metric not in ("cosine", "jaccard"):
            raise ValueError(f"metric must be cosine or jaccard, not {self.metric!r}")
        self.reference_ = sp.csr_matrix(X, dtype=np.float32) if sp.issparse(X) else \
            np.asarray(X, dtype=np.float32)
        self.coords_ = np.asarray(coords, dtype=np.float32)
        self.n_features_in_ = int(X.shape[1])
        return self

    def transform(self, X) -> np.ndarray:
        """(n_new, 2) float32 coordinates of the new points ``X`` (n_new, d)."""
        from tastemap.core.numba_cache import import_umap

        umap_ = import_umap().umap_
        k = min(self.n_neighbors, self.coords_.shape[0])
        idx, dist = _nearest(self.reference_, X, k, self.metric)
        sigmas, rhos = umap_.smooth_knn_dist(dist, float(k), local_connectivity=0.0)
        _, _, vals, _ = umap_.compute_membership_strengths(idx, dist, sigmas, rhos, bipartite=True)
        weights = vals.reshape(idx.shape).astype(np.float64)
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        return np.einsum("nk,nkc->nc", weights, self.coords_[idx]).astype(np.float32)


def _nearest(reference, X, k: int, metric: str, chunk: int = 2048
             ) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest rows of ``reference`` to each row of ``X``: (indices, distances),
    both (n_new, k), nearest first; cosine (dense or sparse) or jaccard (binary sparse) distance."""
    idx_out, dist_out = [], []
    ref = sp.csr_matrix(reference) if metric == "jaccard" else reference
    for start in range(0, X.shape[0], chunk):
        part = X[start:start + chunk]
        if metric == "jaccard":
            a, b = sp.csr_matrix(part), ref
            inter = (a @ b.T).toarray()
            union = a.getnnz(axis=1)[:, None] + b.getnnz(axis=1)[None, :] - inter
            d = 1.0 - np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        else:
            d = skmetrics.pairwise.cosine_distances(part, ref)
        idx = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else \
            np.tile(np.arange(d.shape[1]), (d.shape[0], 1))
        dk = np.take_along_axis(d, idx, axis=1)
        order = np.argsort(dk, axis=1, kind="stable")
        idx_out.append(np.take_along_axis(idx, order, axis=1))
        dist_out.append(np.maximum(np.take_along_axis(dk, order, axis=1), 0).astype(np.float32))
    return np.vstack(idx_out).astype(np.int32), np.vstack(dist_out)


def point_table(
    names: pd.DataFrame, side: Side, entity: str, n: int, points: np.ndarray | None = None
) -> pd.DataFrame:
    """Ids and names of the ``n`` points of a map, in row order (only the rows ``points``, e.g.
    the ``explore.max_points`` sample, when given).

    ``names`` is ``users.parquet`` (side ``users``), ``artists.parquet`` or ``songs.parquet``.
    Returns ``idx`` (int32: user_idx / artist_idx / song_idx), ``name`` (user id, artist name,
    or ``"artist - track"``) and, for songs, ``artist``.
    """
    col, idx = (("user", "user_idx") if side == "users" else
                ("artist", "artist_idx") if entity == "artist" else (None, "song_idx"))
    table = names.sort_values(idx)
    if len(table) != n or not np.array_equal(table[idx].to_numpy(), np.arange(n)):
        raise ValueError(f"the {idx} table has {len(table)} rows that are not 0..{n - 1}: it does "
                         f"not match the matrix ({n} {side})")
    out = pd.DataFrame({"idx": table[idx].to_numpy(dtype=np.int32)})
    if col is None:
        out["name"] = (table["artist"].astype(str) + " - " + table["track"].astype(str)).to_numpy()
        out["artist"] = table["artist"].astype(str).to_numpy()
    else:
        out["name"] = table[col].astype(str).to_numpy()
    if points is not None:
        out = out.iloc[points].reset_index(drop=True)
    return out


def map_title(entity: str, side: Side, method: str, seed: int, n: int) -> str:
    """Title of a map: what the points are, which matrix, which method and seed."""
    what = "users" if side == "users" else f"{entity}s"
    return f"{n} {what} of the user x {entity} matrix: {method.upper()} map, seed {seed}"

