"""Rule explore_svd: the high-dimensional representation (binary rows -> L2 -> SVD -> L2) of one
side of one matrix; its model is reused by t-SNE / UMAP and its embedding is clustered.
With explore.max_points, every map of the side covers the seeded sample of rows in points.npy."""
import numpy as np

from tastemap import logs
from tastemap.explore import fit_svd, orient, save_map
from tastemap.matrices import load_matrix, sample_rows

log = logs.setup(snakemake.log[0])
seed = int(snakemake.wildcards.seed)
rows = orient(load_matrix(snakemake.input.matrix), snakemake.wildcards.side)
log.info("%s %s: %d points x %d features, %d entries", snakemake.wildcards.entity,
         snakemake.wildcards.side, rows.shape[0], rows.shape[1], rows.nnz)
points = sample_rows(rows.shape[0], snakemake.params.max_points, seed)
if len(points) < rows.shape[0]:
    log.info("explore.max_points: mapping a seeded sample of %d of the %d points", len(points),
             rows.shape[0])
model, embedding = fit_svd(rows[points], int(snakemake.params.n_components), seed)
save_map(model, snakemake.output.model, {"method": "svd", "seed": seed,
                                          "n_points": len(points)})
np.save(snakemake.output.embedding, embedding)
np.save(snakemake.output.points, points)
