"""Rule model_map: users and items of a factor model reduced to 2-D with UMAP, one map each."""
import pandas as pd

import tastemap.logs
from tastemap.jit import cache_umap
from tastemap.models.base import Recommender
from tastemap.models.embed import umap_2d
from tastemap.models.tables import item_names, user_names
from tastemap.plots import embedding_map


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p, w = snakemake.params, snakemake.wildcards
    model = Recommender.load(snakemake.input.model)
    cache_umap()
    kinds = {
        "users": (model.user_factors, user_names(pd.read_parquet(snakemake.input.users))),
        "items": (model.item_factors, item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)),
    }
    for kind, (factors, names) in kinds.items():
        rows, coords = umap_2d(factors, int(w.seed), n_neighbors=p.n_neighbors,
                               min_dist=p.min_dist, max_points=p.max_points)
        log.info("%s: %d of %d mapped", kind, len(rows), len(factors))
        label = "users" if kind == "users" else f"{w.entity}s"
        fig = embedding_map(
            coords, names[rows], figsize=p.plots["figsize"], dpi=p.plots["dpi"],
            n_labels=p.plots["n_labels"], seed=int(w.seed),
            title=f"{w.model} {w.variant} (seed {w.seed}): {label} by latent factors, UMAP",
        )
        fig.savefig(snakemake.output[f"{kind[:-1]}_map"])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
