"""Rule explore_map: the scatter map of one projection, coloured by its best clustering, with
n_labels random points labelled (adjustText)."""
import time

import pandas as pd

from tastemap import logs
from tastemap.explore import map_title
from tastemap.plots import scatter_map

log = logs.setup(snakemake.log[0])
w = snakemake.wildcards
plots = snakemake.params.plots
table = pd.read_parquet(snakemake.input.clusters)
start = time.perf_counter()
fig = scatter_map(
    table["x"].to_numpy(), table["y"].to_numpy(), table["cluster"].to_numpy(),
    table["name"].to_numpy(), title=map_title(w.entity, w.side, w.method, int(w.seed), len(table)),
    xlabel=f"{w.method} 1", ylabel=f"{w.method} 2", figsize=plots["figsize"], dpi=plots["dpi"],
    n_labels=plots["n_labels"], seed=int(w.seed))
fig.savefig(snakemake.output.png)
log.info("map of %d points, %d labels, drawn in %.1f s", len(table), plots["n_labels"],
         time.perf_counter() - start)
