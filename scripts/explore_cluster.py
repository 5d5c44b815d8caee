"""Rules explore_cluster / explore_cluster_svd: every configured clustering of one map (its 2-D
coordinates) or of its SVD representation, scored; writes the labels and a metrics table."""
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from tastemap import logs
from tastemap.explore import cluster_sweep, point_table, select_runs, truth_labels

log = logs.setup(snakemake.log[0])
w = snakemake.wildcards
p = dict(snakemake.params.cluster)
seed = int(w.seed)

if "coords" in snakemake.input.keys():
    table = pd.read_parquet(snakemake.input.coords)
    points = table[["x", "y"]].to_numpy()
else:
    points = np.load(snakemake.input.embedding)
    names = pd.read_parquet(snakemake.input.names)
    rows = np.load(snakemake.input.points)  # every row, or the explore.max_points sample
    table = point_table(names, w.side, w.entity, len(names), rows)

truth = None
if snakemake.input.truth:
    planted = pd.read_parquet(snakemake.input.truth[0])
    # songs take the planted genre of their artist
    key, kind = (("name", "user") if w.side == "users" else
                 ("name", "artist") if w.entity == "artist" else ("artist", "artist"))
    truth = truth_labels(table[key], planted, kind)
    log.info("truth: %d of %d points have a planted genre", int((truth >= 0).sum()), len(truth))

# k-means' OpenMP threads spin-wait on a busy machine: one thread cost 0.3 CPU s where two cost
# 8.4 (and 20x the wall time) for the same sweep (docs/explore.md, "Speed")
with threadpool_limits(snakemake.threads):
    labels, metrics = cluster_sweep(
        points, p["algorithms"], p["k"], seed, truth=truth, params=p,
        max_points=p["max_points"], sample_size=p["silhouette_sample"])
metrics = select_runs(metrics, p["criterion"], p["max_noise"])
best = metrics.loc[metrics["best"], "run"]
if best.empty:
    raise ValueError(f"explore.cluster: no run of {p['algorithms']} gave a usable clustering "
                     f"of {w.entity} {w.side} (check explore.cluster.k / max_noise)")
best_run = best.iloc[0]
log.info("best by %s: %s\n%s", p["criterion"], best_run, metrics.to_string())

out = table.copy()
out["cluster"] = labels[best_run]
for run, lab in labels.items():
    out[run] = lab
out.to_parquet(snakemake.output.clusters, index=False)
metrics.insert(0, "space", getattr(w, "method", "svd"))
metrics.to_csv(snakemake.output.metrics, index=False)
