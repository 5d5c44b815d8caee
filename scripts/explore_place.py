"""Rule place_users: place the users of a new listening file into a saved users map (pca/umap)
without refitting; writes their coordinates and the map with them on top."""
import numpy as np
import pandas as pd

from tastemap import logs
from tastemap.explore import (item_index, listens_to_rows, load_map, map_title, place_users,
                              read_listens)
from tastemap.plots import scatter_map

log = logs.setup(snakemake.log[0])
w = snakemake.wildcards
plots = snakemake.params.plots
listens = read_listens(snakemake.input.listens)
index, key = item_index(pd.read_parquet(snakemake.input.item_names), w.entity)
users, rows, unknown = listens_to_rows(listens, index, key)
log.info("%s: %d listening rows of %d users; %d rows name %ss the map does not know (dropped)",
         snakemake.input.listens, len(listens), len(users), unknown, w.entity)
empty = np.asarray(rows.sum(axis=1)).ravel() == 0
if empty.any():
    log.warning("%d users have no known %s and land at the map's origin: %s", int(empty.sum()),
                w.entity, ", ".join(users[empty][:10]))
coords = place_users(load_map(snakemake.input.model), rows)
placed = pd.DataFrame({"user": users, "n_items": np.diff(rows.indptr), "x": coords[:, 0],
                       "y": coords[:, 1]})
placed.to_parquet(snakemake.output.placed, index=False)

base = pd.read_parquet(snakemake.input.clusters)
fig = scatter_map(
    base["x"].to_numpy(), base["y"].to_numpy(), base["cluster"].to_numpy(), base["name"].to_numpy(),
    title=map_title(w.entity, "users", w.method, int(w.seed), len(base))
    + f" + {len(users)} placed users", xlabel=f"{w.method} 1", ylabel=f"{w.method} 2",
    figsize=plots["figsize"], dpi=plots["dpi"], n_labels=plots["n_labels"], seed=int(w.seed),
    extra={"x": coords[:, 0], "y": coords[:, 1], "names": users, "label": "placed users"})
fig.savefig(snakemake.output.png)
