"""Rules explore_project / explore_tsne: one 2-D map (pca, umap or tsne) of one side of one
matrix -> coords.parquet (idx, name, [artist,] x, y) and, for pca/umap, the fitted model; then
its clusterings (clusters.parquet, clusters_metrics.csv) and the figure (map.png); its
interactive version is drawn by rule explore_html."""

import contextlib
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix
from tastemap.explore import cluster_table, load_map, orient, point_table, project, save_map
from tastemap.viz import figures


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, inp, out, p = snakemake.wildcards, snakemake.input, snakemake.output, snakemake.params
    seed = int(w.seed)
    points = np.load(inp.points)  # every row, or the explore.max_points sample
    rows = orient(load_matrix(inp.matrix), w.side)
    n_rows, rows = rows.shape[0], rows[points]
    options = dict(p.options)
    log.info("%s of %s %s (%d x %d), seed %d, options %s", w.method, w.entity, w.side, *rows.shape,
             seed, options)
    start = time.perf_counter()
    # t-SNE / UMAP print their progress (iterations; epochs as a tqdm bar on stderr): into the log.
    with threadpool_limits(snakemake.threads), open(snakemake.log[0], "a") as progress, \
            contextlib.redirect_stdout(progress), contextlib.redirect_stderr(progress):
        coords, model = project(rows, w.method, seed, svd=load_map(inp.svd), params=options,
                                n_jobs=snakemake.threads, verbose=True)
    log.info("%s done in %.1f s", w.method, time.perf_counter() - start)

    table = point_table(pd.read_parquet(inp.names), w.side, w.entity, n_rows, points)
    table["x"], table["y"] = coords[:, 0], coords[:, 1]
    table.to_parquet(out.coords, index=False)
    if "model" in out.keys():
        save_map(model, out.model, {"method": w.method, "seed": seed, **options})
    truth = pd.read_parquet(inp.truth[0]) if inp.truth else None
    clusters, metrics = cluster_table(table[["x", "y"]].to_numpy(), table, w.entity, w.side,
                                      p.cluster, seed, truth, space=w.method)
    clusters.to_parquet(out.clusters, index=False)
    metrics.to_csv(out.metrics, index=False)
    fig = figures.explore_map(clusters, w.entity, w.side, w.method, seed, p.plots)
    fig.savefig(out.png)
    plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
