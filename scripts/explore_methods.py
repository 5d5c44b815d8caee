"""Rule explore_methods: small multiples comparing the projections of one side of one matrix."""
import pandas as pd

from tastemap import logs
from tastemap.plots import methods_grid

log = logs.setup(snakemake.log[0])
w = snakemake.wildcards
plots = snakemake.params.plots
panels = []
for method, path in zip(snakemake.params.methods, snakemake.input.clusters):
    t = pd.read_parquet(path)
    panels.append({"title": f"{method} ({t['cluster'].max() + 1} clusters)", "x": t["x"],
                   "y": t["y"], "clusters": t["cluster"].to_numpy(),
                   "xlabel": f"{method} 1", "ylabel": f"{method} 2"})
what = "users" if w.side == "users" else f"{w.entity}s"
fig = methods_grid(panels, title=f"{what} of the user x {w.entity} matrix, seed {w.seed}\n"
                   "colour = best clustering of each map",
                   figsize=plots["figsize"], dpi=plots["dpi"])
fig.savefig(snakemake.output.png)
log.info("%d panels", len(panels))
