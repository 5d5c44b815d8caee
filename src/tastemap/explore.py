"""2-D maps of users, artists and songs, and the clusters in them.

Orientation: the input is always a **users x items** matrix (CSR, play counts; rows =
``user_idx``, columns = ``artist_idx`` or ``song_idx``). A map is drawn for one *side*:

- ``"users"``: one point per row (a user described by the items they played);
- ``"items"``: one point per column (an item described by the users who played it), i.e. the
  rows of the transpose.

Everything works on the **binary** matrix (played or not), rows L2-normalised, so that the
geometry is cosine similarity and a heavy listener does not sit far from a light listener of
the same music.

Methods (all take an integer ``seed``):

- ``pca``: :class:`sklearn.decomposition.TruncatedSVD` with 2 components on the sparse matrix
  (never densified; no centring, which is what makes it usable on 100K-wide sparse data).
- ``tsne``: openTSNE (``initialization="pca"``, cosine affinities) on the SVD pre-reduction
  (:func:`tsne`). t-SNE has no ``transform`` here: it **cannot place new points**.
- ``umap``: :class:`umap.UMAP` with the cosine metric on the SVD pre-reduction when the matrix is
  wider than ``reduce_above`` columns, else (and always for ``jaccard``) on the sparse binary
  rows. ``random_state=seed`` makes UMAP reproducible and single-threaded; umap-learn is
  imported through :func:`tastemap.numba_cache.import_umap` (its compiled code kept on disk).

The fitted PCA / UMAP maps are :class:`sklearn.pipeline.Pipeline` objects (normalise -> SVD ->
projection, or -> :class:`NeighbourPlacement` for UMAP) whose ``transform`` takes new binary user
rows (:func:`place_users`); :func:`save_map` / :func:`load_map` write and read them as
``model.npz`` (arrays + JSON, no pickle).

Clustering (:func:`cluster_sweep`) runs k-means / agglomerative / spectral over a sweep of k and
HDBSCAN / DBSCAN, scores every run with silhouette, Calinski-Harabasz and Davies-Bouldin (and
ARI / NMI against known labels when given), and picks k and the best run by one internal
criterion (:func:`select_runs`); known labels are never used to choose.
"""
from __future__ import annotations

import csv
import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn import cluster as skcluster
from sklearn import metrics as skmetrics
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer
from threadpoolctl import threadpool_limits

from tastemap import layout
from tastemap.models import store

logger = logging.getLogger(__name__)

Side = Literal["users", "items"]
METHODS = ("pca", "umap", "tsne")
#: methods whose fitted model can place new rows (t-SNE has no transform)
PLACEABLE = ("pca", "umap")
#: clustering algorithms that take a number of clusters k (swept)
K_ALGORITHMS = ("kmeans", "agglomerative", "spectral")
ALGORITHMS = K_ALGORITHMS + ("hdbscan", "dbscan")
#: algorithms whose cost grows with n^2 (memory or time); skipped above ``max_points``
QUADRATIC = ("agglomerative", "spectral")
CRITERIA = {"silhouette": True, "calinski_harabasz": True, "davies_bouldin": False}


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

    from tastemap.numba_cache import import_umap

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
        from tastemap.numba_cache import import_umap

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


#: classes a saved map may hold: nothing else is ever instantiated from a model.npz
MAP_STEPS = {cls.__name__: cls for cls in (Normalizer, TruncatedSVD, NeighbourPlacement)}


def save_map(model: Pipeline, path, params: dict[str, Any] | None = None) -> None:
    """Write a fitted map (the SVD representation, a pca or a umap map: a ``Pipeline`` of
    :data:`MAP_STEPS`) as ``model.npz``: arrays and a JSON header, no pickle, the format of
    every tastemap model (:func:`tastemap.models.store.write_estimators`). ``params``
    (JSON-able: method, seed, ...) are stored with it."""
    store.write_estimators(path, model.steps, params=params)


def load_map(path) -> Pipeline:
    """Read a map written by :func:`save_map` (``np.load(..., allow_pickle=False)``) and rebuild
    its scikit-learn ``Pipeline``; a pickle (the joblib files of earlier versions) or a foreign
    step is refused."""
    steps, _ = store.read_estimators(path, MAP_STEPS)
    return Pipeline(steps)


def place_users(model: Pipeline, user_items: sp.spmatrix) -> np.ndarray:
    """Place new users into a saved users map without refitting.

    Parameters
    ----------
    model : the fitted map of a ``users`` side (``model.npz`` of pca or umap read by
        :func:`load_map`; t-SNE cannot place new points and writes no model).
    user_items : (n_new, n_items) play counts of the new users, columns in the map's item
        order (``artist_idx`` / ``song_idx``); binarised here.

    Returns
    -------
    coords : (n_new, 2) float32 in the map's coordinates.
    """
    rows = binarize(user_items)
    n_in = getattr(model.steps[0][1], "n_features_in_", None)
    if n_in is not None and rows.shape[1] != n_in:
        raise ValueError(f"user_items has {rows.shape[1]} columns, the map was fit on {n_in}")
    return np.asarray(model.transform(rows), dtype=np.float32)


def listens_to_rows(
    listens: pd.DataFrame, item_index: pd.Series, key: str | list[str] = "artist"
) -> tuple[np.ndarray, sp.csr_matrix, int]:
    """New users' listening rows in a map's item order.

    Parameters
    ----------
    listens : one row per (user, item, plays) - columns ``user``, ``plays`` (missing: 1) and the
        item ``key`` columns (``artist``, or ``[artist, track]`` for songs).
    item_index : item key -> column index (``artist_idx`` / ``song_idx``) of the saved map.
    key : column(s) naming the item.

    Returns
    -------
    users : (n_new,) user names in row order.
    matrix : (n_new, len(item_index)) CSR float32 play counts.
    n_unknown : listening rows whose item the map does not know (dropped; the caller logs it).
    """
    keys = [key] if isinstance(key, str) else list(key)
    missing = [c for c in ["user", *keys] if c not in listens.columns]
    if missing:
        raise ValueError(f"listening table lacks column(s) {missing}; has {list(listens.columns)}")
    plays = listens["plays"] if "plays" in listens.columns else pd.Series(1, index=listens.index)
    item_key = (listens[keys[0]].astype(str) if len(keys) == 1
                else pd.Series(list(zip(*(listens[k].astype(str) for k in keys))),
                               index=listens.index))
    col = item_key.map(item_index)
    known = col.notna().to_numpy()
    users, row = np.unique(listens["user"].astype(str).to_numpy(), return_inverse=True)
    matrix = sp.csr_matrix(
        (plays.to_numpy(dtype=np.float32)[known], (row[known], col[known].astype(np.int64))),
        shape=(len(users), len(item_index)), dtype=np.float32)
    matrix.sum_duplicates()
    return users, matrix, int((~known).sum())


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


def item_index(items: pd.DataFrame, entity: str) -> tuple[pd.Series, str | list[str]]:
    """Item key -> column index of a matrix: artist name -> ``artist_idx`` (``artists.parquet``)
    or (artist, track) -> ``song_idx`` (``songs.parquet``); returns the index and the key
    column(s) of a listening table for :func:`listens_to_rows`."""
    if entity == "artist":
        index = pd.Series(items["artist_idx"].to_numpy(), index=items["artist"].astype(str))
        return index, "artist"
    keys = pd.MultiIndex.from_arrays([items["artist"].astype(str), items["track"].astype(str)])
    return pd.Series(items["song_idx"].to_numpy(), index=keys.to_flat_index()), ["artist", "track"]


def read_listens(path: str) -> pd.DataFrame:
    """A new listening file for :func:`place_users`: Parquet in the canonical listens schema
    (e.g. ``data/listens.parquet`` of an ingest run), or CSV / TSV (``.csv`` comma, other
    suffixes tab, unquoted) with a header naming at least ``user`` and ``artist`` (``track`` for songs,
    ``plays`` optional, 1 per row when missing)."""
    text = str(path)
    if text.endswith(".parquet"):
        table = pd.read_parquet(text)
    else:
        # CSV: standard quoting; TSV: no quoting at all (names like '"Kid" Hazel' are literal)
        csv_file = text.endswith(".csv")
        table = pd.read_csv(text, sep="," if csv_file else "\t", dtype=str, keep_default_na=False,
                            quoting=csv.QUOTE_MINIMAL if csv_file else csv.QUOTE_NONE)
        if "plays" in table.columns:
            bad = ~table["plays"].str.fullmatch(r"\d+")
            if bad.any():
                line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
                raise ValueError(f"{text}, line {line}: plays must be a whole number, "
                                 f"not {table['plays'][bad].iloc[0]!r}")
            table["plays"] = table["plays"].astype(np.int64)
    missing = [c for c in ("user", "artist") if c not in table.columns]
    if missing:
        raise ValueError(f"{text}: needs columns user and artist (header line); missing {missing}, "
                         f"found {list(table.columns)}")
    return table


# ---- clustering ----------------------------------------------------------------------------


def internal_metrics(points: np.ndarray, labels: np.ndarray, seed: int,
                     sample_size: int = 5000) -> dict[str, float]:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of one clustering.

    Noise points (label ``-1``) are left out; with fewer than 2 clusters (or every point its own
    cluster) the scores are NaN. Silhouette is computed on a seeded sample of ``sample_size``
    points when there are more (it is O(n^2)).
    """
    keep = labels >= 0
    x, lab = points[keep], labels[keep]
    n_clusters = len(np.unique(lab))
    out = {"silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
    if n_clusters < 2 or n_clusters >= len(lab):
        return out
    out["silhouette"] = float(skmetrics.silhouette_score(
        x, lab, sample_size=sample_size if len(lab) > sample_size else None, random_state=seed))
    out["calinski_harabasz"] = float(skmetrics.calinski_harabasz_score(x, lab))
    out["davies_bouldin"] = float(skmetrics.davies_bouldin_score(x, lab))
    return out


def external_metrics(labels: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """ARI and NMI of ``labels`` against known classes ``truth`` (same length); entries whose
    truth is negative (unknown) are left out. Noise (-1) counts as one more cluster."""
    known = truth >= 0
    if known.sum() < 2:
        return {"ari": np.nan, "nmi": np.nan}
    return {"ari": float(skmetrics.adjusted_rand_score(truth[known], labels[known])),
            "nmi": float(skmetrics.normalized_mutual_info_score(truth[known], labels[known]))}


def _unknown_algorithm(algorithm: str) -> str:
    return f"unknown clustering algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}"


def make_clusterer(algorithm: str, seed: int, k: int | None = None,
                   params: dict[str, Any] | None = None):
    """The scikit-learn estimator for one run (``k`` for the k-taking algorithms)."""
    p = params or {}
    if algorithm == "kmeans":
        return skcluster.KMeans(n_clusters=k, n_init=int(p.get("kmeans_n_init", 4)),
                                random_state=seed)
    if algorithm == "agglomerative":
        return skcluster.AgglomerativeClustering(n_clusters=k, linkage="ward")
    if algorithm == "spectral":
        return skcluster.SpectralClustering(
            n_clusters=k, affinity="nearest_neighbors",
            n_neighbors=int(p.get("spectral_n_neighbors", 10)),
            assign_labels="cluster_qr", random_state=seed)
    if algorithm == "hdbscan":
        return skcluster.HDBSCAN(min_cluster_size=int(p.get("hdbscan_min_cluster_size", 10)),
                                 copy=True)
    if algorithm == "dbscan":
        return skcluster.DBSCAN(eps=float(p.get("dbscan_eps", 0.5)),
                                min_samples=int(p.get("dbscan_min_samples", 5)))
    raise ValueError(_unknown_algorithm(algorithm))


def _scores(points: np.ndarray, lab: np.ndarray, seed: int, truth: np.ndarray | None,
            sample_size: int) -> dict[str, Any]:
    """Cluster count, noise fraction, internal scores and (with ``truth``) ARI / NMI of one run."""
    out = {"n_clusters": int(len(np.unique(lab[lab >= 0]))),
           "noise_fraction": float((lab < 0).mean())}
    out |= internal_metrics(points, lab, seed, sample_size)
    if truth is not None:
        out |= external_metrics(lab, truth)
    return out


def ward_labels(points: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
    """Ward clusterings of ``points`` (n, d) for every k in ``ks`` from one tree: ``{k: (n,)
    int32 labels}``. scikit-learn's ``AgglomerativeClustering(linkage="ward")`` builds this same
    tree (scipy's ``ward`` linkage) once per k and cuts it at k clusters; building it once and
    cutting it at every k (``scipy.cluster.hierarchy.cut_tree``) gives the same partitions for a
    fraction of the time (tested: ARI 1 for every k).

    >>> labels = ward_labels(np.array([[0.0], [0.1], [5.0], [5.2], [9.0]]), [2, 3])
    >>> labels[2].tolist(), labels[3].tolist()
    ([0, 0, 1, 1, 1], [0, 0, 1, 1, 2])
    """
    from scipy.cluster.hierarchy import cut_tree, ward

    cuts = cut_tree(ward(points), n_clusters=list(ks))
    return {k: cuts[:, i].astype(np.int32) for i, k in enumerate(ks)}


def cluster_sweep(
    points: np.ndarray,
    algorithms: list[str],
    ks: list[int],
    seed: int,
    truth: np.ndarray | None = None,
    params: dict[str, Any] | None = None,
    max_points: int = 20000,
    sample_size: int = 5000,
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Run every configured clustering on ``points`` and score each run.

    Parameters
    ----------
    points : (n, d) float array (2-D map coordinates or the SVD representation).
    algorithms : names from :data:`ALGORITHMS`; k-taking ones run once per ``k`` in ``ks``.
    ks : numbers of clusters to sweep (values >= n are skipped).
    seed : random_state of every random component (k-means, spectral, silhouette sample).
    truth : (n,) known class per point (-1 unknown) for ARI / NMI, or None.
    params : algorithm options (``hdbscan_min_cluster_size``, ``dbscan_eps``, ...).
    max_points : agglomerative and spectral (quadratic cost) are skipped above this many points;
        the skip is logged and recorded in the table (``skipped`` column).

    Returns
    -------
    labels : run name (``kmeans_k8``, ``hdbscan``) -> (n,) int labels, -1 = noise.
    table : one row per run: ``run, algorithm, k, n_clusters, noise_fraction, silhouette,
        calinski_harabasz, davies_bouldin, ari, nmi, skipped``.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    labels: dict[str, np.ndarray] = {}
    rows = []
    for algorithm in algorithms:
        if algorithm not in ALGORITHMS:
            raise ValueError(_unknown_algorithm(algorithm))
        runs = ([(f"{algorithm}_k{k}", k) for k in ks if 2 <= k < n]
                if algorithm in K_ALGORITHMS else [(algorithm, None)])
        # Ward: one tree for every k (see ward_labels)
        tree = (ward_labels(points, [k for _, k in runs])
                if algorithm == "agglomerative" and runs and n <= max_points else {})
        for run, k in runs:
            row: dict[str, Any] = {"run": run, "algorithm": algorithm, "k": k, "skipped": ""}
            if algorithm in QUADRATIC and n > max_points:
                logger.warning("%s skipped: %d points > max_points=%d", run, n, max_points)
                row["skipped"] = f"{n} points > max_points {max_points}"
                rows.append(row)
                continue
            lab = tree[k] if k in tree else \
                make_clusterer(algorithm, seed, k, params).fit_predict(points).astype(np.int32)
            labels[run] = lab
            rows.append(row | _scores(points, lab, seed, truth, sample_size))
            logger.info("%s: %d clusters, silhouette %.3f", run, rows[-1]["n_clusters"],
                        rows[-1]["silhouette"])
    cols = ["run", "algorithm", "k", "n_clusters", "noise_fraction", "silhouette",
            "calinski_harabasz", "davies_bouldin", "ari", "nmi", "skipped"]
    table = pd.DataFrame(rows).reindex(columns=cols)
    table["k"] = table["k"].astype("Int64")
    table["n_clusters"] = table["n_clusters"].astype("Int64")
    return labels, table


def select_runs(table: pd.DataFrame, criterion: str = "silhouette",
                max_noise: float = 0.2) -> pd.DataFrame:
    """Mark the chosen k of each algorithm and the best run overall by ``criterion``.

    Adds boolean columns ``chosen`` (the best k of its algorithm; the single run of
    HDBSCAN/DBSCAN) and ``best`` (the best chosen run). Runs that were skipped, have a NaN
    score, or leave more than ``max_noise`` of the points as noise are never chosen.
    Ties go to the earlier run (config order, smaller k). Known labels are never consulted.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; expected one of {', '.join(CRITERIA)}")
    higher = CRITERIA[criterion]
    out = table.copy()
    score = out[criterion].astype(float)
    eligible = score.notna() & (out["noise_fraction"].astype(float) <= max_noise)
    key = score.where(eligible)
    key = key if higher else -key
    out["chosen"] = False
    for _, idx in out.groupby("algorithm", sort=False).groups.items():
        sub = key.loc[idx]
        if sub.notna().any():
            out.loc[sub.idxmax(), "chosen"] = True
    out["best"] = False
    chosen = key.where(out["chosen"])
    if chosen.notna().any():
        out.loc[chosen.idxmax(), "best"] = True
    return out


def truth_labels(names: pd.Series, truth: pd.DataFrame, kind: str) -> np.ndarray:
    """Planted genre of each name (``kind`` ``user`` or ``artist`` rows of truth.parquet),
    -1 where the name is not in the truth table."""
    table = truth[truth["kind"] == kind]
    genre = pd.Series(table["genre"].to_numpy(), index=table["name"].astype(str).to_numpy())
    genre = genre[~genre.index.duplicated()]
    return names.astype(str).map(genre).fillna(-1).astype(np.int64).to_numpy()


def cluster_table(points: np.ndarray, table: pd.DataFrame, entity: str, side: Side,
                  params: dict[str, Any], seed: int, truth: pd.DataFrame | None = None,
                  space: str = "map") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every configured clustering (config ``explore.cluster`` = ``params``) of ``points``
    (n, d: a map's 2-D coordinates or its SVD representation), whose rows are ``table`` (one
    row per point: idx, name[, artist], see :func:`point_table`), scored and selected.

    Returns the clusters table (``table`` + ``cluster``, the best run's labels, + one column of
    labels per run) and the metrics table (one row per run, ``space`` first, ``chosen`` and
    ``best`` marked by :func:`select_runs`). ``truth``: the planted genres (simulated data) for
    ARI / NMI, or None; songs take the genre of their artist.
    """
    p = dict(params)
    labels_truth = None
    if truth is not None:
        key, kind = (("name", "user") if side == "users" else
                     ("name", "artist") if entity == "artist" else ("artist", "artist"))
        labels_truth = truth_labels(table[key], truth, kind)
        logger.info("truth: %d of %d points have a planted genre",
                    int((labels_truth >= 0).sum()), len(labels_truth))
    # k-means' OpenMP threads spin-wait on a busy machine: one thread cost 0.3 CPU s where two
    # cost 8.4 (and 20x the wall time) for the same sweep (docs/explore.md, "Speed")
    with threadpool_limits(1):
        labels, metrics = cluster_sweep(
            points, p["algorithms"], p["k"], seed, truth=labels_truth, params=p,
            max_points=p["max_points"], sample_size=p["silhouette_sample"])
    metrics = select_runs(metrics, p["criterion"], p["max_noise"])
    best = metrics.loc[metrics["best"], "run"]
    if best.empty:
        raise ValueError(f"explore.cluster: no run of {p['algorithms']} gave a usable clustering "
                         f"of {entity} {side} (check explore.cluster.k / max_noise)")
    logger.info("best by %s: %s\n%s", p["criterion"], best.iloc[0], metrics.to_string())
    out = table.copy()
    out["cluster"] = labels[best.iloc[0]]
    for run, lab in labels.items():
        out[run] = lab
    metrics.insert(0, "space", space)
    return out, metrics


def chosen_runs(metrics: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The chosen clustering runs of many maps and SVD spaces of one seed: ``metrics`` maps a
    results path (relative to the dataset's folder, a :mod:`tastemap.layout` map or SVD
    cluster-metrics file) to its table (:func:`cluster_table`); returns their ``chosen`` rows,
    ``entity`` and ``side`` (read from the path) first."""
    parts = []
    for rel, table in metrics.items():
        found = (layout.parse(layout.MAP_CLUSTER_METRICS, rel)
                 or layout.parse(layout.SVD_CLUSTER_METRICS, rel))
        if found is None:
            raise ValueError(f"{rel}: not a map or SVD cluster-metrics file of tastemap.layout")
        table = table[table["chosen"]].copy()
        table.insert(0, "side", found["side"])
        table.insert(0, "entity", found["entity"])
        parts.append(table)
    return pd.concat(parts, ignore_index=True)
