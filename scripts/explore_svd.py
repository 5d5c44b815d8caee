"""Rule explore_svd: the high-dimensional representation (binary rows -> L2 -> SVD -> L2) of one
side of one matrix; its model is reused by t-SNE / UMAP and its embedding is clustered."""
import joblib
import numpy as np

from tastemap import logs
from tastemap.explore import fit_svd, orient
from tastemap.matrices import load_matrix

log = logs.setup(snakemake.log[0])
seed = int(snakemake.wildcards.seed)
rows = orient(load_matrix(snakemake.input.matrix), snakemake.wildcards.side)
log.info("%s %s: %d points x %d features, %d entries", snakemake.wildcards.entity,
         snakemake.wildcards.side, rows.shape[0], rows.shape[1], rows.nnz)
model, embedding = fit_svd(rows, int(snakemake.params.n_components), seed)
joblib.dump(model, snakemake.output.model)
np.save(snakemake.output.embedding, embedding)
