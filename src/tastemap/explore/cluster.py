"""Clusters of a 2-D map: a sweep of algorithms and k, internal and external scores, and the
choice of one run by an internal criterion (never by known labels)."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn import cluster as skcluster
from sklearn import metrics as skmetrics
from threadpoolctl import threadpool_limits

from tastemap.core import layout
from tastemap.explore.maps import Side

logger = logging.getLogger(__name__)

#: clustering algorithms that take a number of clusters k (swept)
K_ALGORITHMS = ("kmeans", "agglomerative", "spectral")
ALGORITHMS = K_ALGORITHMS + ("hdbscan", "dbscan")
#: algorithms whose cost grows with n^2 (memory or time); skipped above ``max_points``
QUADRATIC = ("agglomerative", "spectral")
CRITERIA = {"silhouette": True, "calinski_harabasz": True, "davies_bouldin": False}


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
    results path (relative to the dataset's folder, a :mod:`tastemap.core.layout` map or SVD
    cluster-metrics file) to its table (:func:`cluster_table`); returns their ``chosen`` rows,
    ``entity`` and ``side`` (read from the path) first."""
    parts = []
    for rel, table in metrics.items():
        found = (layout.parse(layout.MAP_CLUSTER_METRICS, rel)
                 or layout.parse(layout.SVD_CLUSTER_METRICS, rel))
        if found is None:
            raise ValueError(f"{rel}: not a map or SVD cluster-metrics file of tastemap.core.layout")
        table = table[table["chosen"]].copy()
        table.insert(0, "side", found["side"])
        table.insert(0, "entity", found["entity"])
        parts.append(table)
    return pd.concat(parts, ignore_index=True)
