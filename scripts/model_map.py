"""Rule model_map: users and items of a factor model reduced to 2-D with UMAP, one map each, as
a PNG and as an interactive HTML file (hover names, zoom; colour by planted genre where the
data has them). Topic colourings are on the explore and topic maps: here they would make every
embedding map wait for, and be redrawn with, every topic run."""

import matplotlib.pyplot as plt
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.explore.factors import umap_2d
from tastemap.models.tables import item_names, user_names
from tastemap.pipeline.fit import load_model
from tastemap.viz import interactive
from tastemap.viz.maps import embedding_map


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, w = snakemake.params, snakemake.wildcards
    model = load_model(snakemake.input.model, w.model, p.module)  # factors: no matrix needed
    catalogue = pd.read_parquet(snakemake.input.catalogue)
    truth = pd.read_parquet(snakemake.input.truth[0]) if snakemake.input.truth else None
    users = user_names(pd.read_parquet(snakemake.input.users))
    # planted genres are by artist: an item's key is its artist (an artist's own name)
    artists = catalogue.sort_values(f"{w.entity}_idx")["artist"].to_numpy(object)
    kinds = {
        "users": (model.user_factors, users, users),
        "items": (model.item_factors, item_names(catalogue, w.entity), artists),
    }
    for kind, (factors, names, keys) in kinds.items():
        rows, coords = umap_2d(factors, int(w.seed), n_neighbors=p.n_neighbors,
                               min_dist=p.min_dist, max_points=p.max_points)
        log.info("%s: %d of %d mapped", kind, len(rows), len(factors))
        label = "users" if kind == "users" else f"{w.entity}s"
        title = f"{w.model} {w.variant} (seed {w.seed}): {label} by latent factors, UMAP"
        fig = embedding_map(
            coords, names[rows], figsize=p.plots["figsize"], dpi=p.plots["dpi"],
            n_labels=p.plots["n_labels"], seed=int(w.seed), title=title,
        )
        fig.savefig(snakemake.output[f"{kind[:-1]}_map"])
        plt.close(fig)
        size = interactive.write_map(
            snakemake.output[f"{kind[:-1]}_html"], coords[:, 0], coords[:, 1], names[rows],
            interactive.embedding_colourings(kind, keys[rows], truth),
            title=title, xlabel="UMAP 1", ylabel="UMAP 2",
            kind="user" if kind == "users" else w.entity)
        log.info("%s: interactive map %.1f MB", kind, size / 1e6)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
