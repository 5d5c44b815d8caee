"""Rules explore_project / explore_tsne: one 2-D map (pca, umap or tsne) of one side of one
matrix -> coords.parquet (idx, name, [artist,] x, y) and, for pca/umap, the fitted model."""
import contextlib
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from tastemap import logs
from tastemap.explore import load_map, orient, point_table, project, save_map
from tastemap.matrices import load_matrix

log = logs.setup(snakemake.log[0])
w = snakemake.wildcards
seed = int(w.seed)
points = np.load(snakemake.input.points)  # every row, or the explore.max_points sample
rows = orient(load_matrix(snakemake.input.matrix), w.side)
n_rows, rows = rows.shape[0], rows[points]
svd = load_map(snakemake.input.svd)
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

table = point_table(pd.read_parquet(snakemake.input.names), w.side, w.entity, n_rows, points)
table["x"], table["y"] = coords[:, 0], coords[:, 1]
table.to_parquet(snakemake.output.coords, index=False)
if "model" in snakemake.output.keys():
    save_map(model, snakemake.output.model, {"method": w.method, "seed": seed, **options})
