"""Rule explore_map: the scatter map of one projection, coloured by its best clustering, with
n_labels random points labelled (adjustText); and the same map as an interactive HTML file
(hover names, zoom, colour by any clustering run, topic or planted genre)."""
import time

import pandas as pd

from tastemap import logs
from tastemap.explore import map_title
from tastemap.interactive import explore_colourings, write_map
from tastemap.plots import scatter_map

log = logs.setup(snakemake.log[0])
w = snakemake.wildcards
plots = snakemake.params.plots
table = pd.read_parquet(snakemake.input.clusters)
title = map_title(w.entity, w.side, w.method, int(w.seed), len(table))
start = time.perf_counter()
fig = scatter_map(
    table["x"].to_numpy(), table["y"].to_numpy(), table["cluster"].to_numpy(),
    table["name"].to_numpy(), title=title,
    xlabel=f"{w.method} 1", ylabel=f"{w.method} 2", figsize=plots["figsize"], dpi=plots["dpi"],
    n_labels=plots["n_labels"], seed=int(w.seed))
fig.savefig(snakemake.output.png)
log.info("map of %d points, %d labels, drawn in %.1f s", len(table), plots["n_labels"],
         time.perf_counter() - start)
start = time.perf_counter()
truth = pd.read_parquet(snakemake.input.truth[0]) if snakemake.input.truth else None
colourings = explore_colourings(table, w.side, w.entity, list(snakemake.input.topics), truth)
size = write_map(snakemake.output.html, table["x"], table["y"], table["name"], colourings,
                 title=title, xlabel=f"{w.method} 1", ylabel=f"{w.method} 2",
                 kind="user" if w.side == "users" else w.entity)
log.info("interactive map (%s): %.1f MB in %.1f s", ", ".join(c.name for c in colourings),
         size / 1e6, time.perf_counter() - start)
