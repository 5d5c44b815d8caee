"""Rule explore_svd: the high-dimensional representation (binary rows -> L2 -> SVD -> L2) of one
side of one matrix, and its clusterings; its model is reused by t-SNE / UMAP. With
explore.max_points, every map of the side covers the seeded sample of rows in points.npy."""

import numpy as np
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix, sample_rows
from tastemap.explore import cluster_table, fit_svd, orient, point_table, save_map


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, inp, out, p = snakemake.wildcards, snakemake.input, snakemake.output, snakemake.params
    seed = int(w.seed)
    rows = orient(load_matrix(inp.matrix), w.side)
    log.info("%s %s: %d points x %d features, %d entries", w.entity, w.side, rows.shape[0],
             rows.shape[1], rows.nnz)
    points = sample_rows(rows.shape[0], p.max_points, seed)
    if len(points) < rows.shape[0]:
        log.info("explore.max_points: mapping a seeded sample of %d of the %d points", len(points),
                 rows.shape[0])
    model, embedding = fit_svd(rows[points], int(p.n_components), seed)
    save_map(model, out.model, {"method": "svd", "seed": seed, "n_points": len(points)})
    np.save(out.embedding, embedding)
    np.save(out.points, points)
    names = pd.read_parquet(inp.names)
    table = point_table(names, w.side, w.entity, len(names), points)
    truth = pd.read_parquet(inp.truth[0]) if inp.truth else None
    clusters, metrics = cluster_table(embedding, table, w.entity, w.side, p.cluster, seed, truth,
                                      space="svd")
    clusters.to_parquet(out.clusters, index=False)
    metrics.to_csv(out.metrics, index=False)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
