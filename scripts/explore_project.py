"""Rules explore_project / explore_tsne: one 2-D map (pca, umap or tsne) of one side of one
matrix -> coords.parquet (idx, name, [artist,] x, y) and, for pca/umap, the fitted model; then
its clusterings (clusters.parquet, clusters_metrics.csv) and the figure (map.png); its
interactive version is drawn by rule explore_html."""
import contextlib
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from explore_cluster import cluster
from explore_map import draw_map
from tastemap import logs
from tastemap.explore import load_map, orient, point_table, project, save_map
from tastemap.matrices import load_matrix


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, inp, out = snakemake.wildcards, snakemake.input, snakemake.output
    seed = int(w.seed)
    points = np.load(inp.points)  # every row, or the explore.max_points sample
    rows = orient(load_matrix(inp.matrix), w.side)
    n_rows, rows = rows.shape[0], rows[points]
    svd = load_map(inp.svd)
    options = dict(snakemake.params.options)
    log.info("%s of %s %s (%d x %d), seed %d, options %s", w.method, w.entity, w.side, *rows.shape,
             seed, options)
    start = time.perf_counter()
    # t-SNE / UMAP print their progress (iterations; epochs as a tqdm bar on stderr): into the log.
    with threadpool_limits(snakemake.threads), open(snakemake.log[0], "a") as progress, \
            contextlib.redirect_stdout(progress), contextlib.redirect_stderr(progress):
        coords, model = project(rows, w.method, seed, svd=svd, params=options,
                                n_jobs=snakemake.threads, verbose=True)
    log.info("%s done in %.1f s", w.method, time.perf_counter() - start)

    table = point_table(pd.read_parquet(inp.names), w.side, w.entity, n_rows, points)
    table["x"], table["y"] = coords[:, 0], coords[:, 1]
    table.to_parquet(out.coords, index=False)
    if "model" in out.keys():
        save_map(model, out.model, {"method": w.method, "seed": seed, **options})
    clusters = cluster(table[["x", "y"]].to_numpy(), table, inp.truth, w.entity, w.side,
                       w.method, seed, snakemake.params.cluster, (out.clusters, out.metrics), log)
    draw_map(clusters, w.entity, w.side, w.method, seed, snakemake.params.plots, out.png, log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
