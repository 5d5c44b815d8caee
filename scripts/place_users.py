"""Rule place_users: place the users of a new listening file into a saved users map (pca/umap)
without refitting; writes their coordinates and the map with them on top."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.formats import read_new_listens
from tastemap.explore import item_index, listens_to_rows, load_map, place_users
from tastemap.viz import figures


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, inp, out = snakemake.wildcards, snakemake.input, snakemake.output
    listens = read_new_listens(inp.listens).to_pandas()
    index, key = item_index(pd.read_parquet(inp.item_names), w.entity)
    users, rows, unknown = listens_to_rows(listens, index, key)
    log.info("%s: %d listening rows of %d users; %d rows name %ss the map does not know "
             "(dropped)", inp.listens, len(listens), len(users), unknown, w.entity)
    empty = np.asarray(rows.sum(axis=1)).ravel() == 0
    if empty.any():
        log.warning("%d users have no known %s and land at the map's origin: %s",
                    int(empty.sum()), w.entity, ", ".join(users[empty][:10]))
    coords = place_users(load_map(inp.model), rows)
    placed = pd.DataFrame({"user": users, "n_items": np.diff(rows.indptr), "x": coords[:, 0],
                           "y": coords[:, 1]})
    placed.to_parquet(out.placed, index=False)
    fig = figures.placed_users_map(pd.read_parquet(inp.clusters), placed, w.entity, w.method,
                                   int(w.seed), snakemake.params.plots)
    fig.savefig(out.png)
    plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
