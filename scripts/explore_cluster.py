"""Every configured clustering of one map (its 2-D coordinates) or of its SVD representation,
scored; writes the labels and a metrics table (called by explore_project.py / explore_svd.py)."""
import pandas as pd
from threadpoolctl import threadpool_limits

from tastemap.explore import cluster_sweep, select_runs, truth_labels


def cluster(points, table, truth_files, entity, side, space, seed, params, paths, log):
    """Cluster ``points`` (n, d) whose rows are ``table`` (idx, name, ...); write ``paths`` =
    (clusters.parquet, clusters_metrics.csv); returns the clusters table."""
    p = dict(params)
    truth = None
    if truth_files:
        planted = pd.read_parquet(truth_files[0])
        # songs take the planted genre of their artist
        key, kind = (("name", "user") if side == "users" else
                     ("name", "artist") if entity == "artist" else ("artist", "artist"))
        truth = truth_labels(table[key], planted, kind)
        log.info("truth: %d of %d points have a planted genre", int((truth >= 0).sum()), len(truth))
    # k-means' OpenMP threads spin-wait on a busy machine: one thread cost 0.3 CPU s where two
    # cost 8.4 (and 20x the wall time) for the same sweep (docs/explore.md, "Speed")
    with threadpool_limits(1):
        labels, metrics = cluster_sweep(
            points, p["algorithms"], p["k"], seed, truth=truth, params=p,
            max_points=p["max_points"], sample_size=p["silhouette_sample"])
    metrics = select_runs(metrics, p["criterion"], p["max_noise"])
    best = metrics.loc[metrics["best"], "run"]
    if best.empty:
        raise ValueError(f"explore.cluster: no run of {p['algorithms']} gave a usable clustering "
                         f"of {entity} {side} (check explore.cluster.k / max_noise)")
    best_run = best.iloc[0]
    log.info("best by %s: %s\n%s", p["criterion"], best_run, metrics.to_string())
    out = table.copy()
    out["cluster"] = labels[best_run]
    for run, lab in labels.items():
        out[run] = lab
    out.to_parquet(paths[0], index=False)
    metrics.insert(0, "space", space)
    metrics.to_csv(paths[1], index=False)
    return out
