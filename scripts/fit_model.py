"""Rules fit_model / fit_model_split: fit one registered recommender, write the model,
recommendations for every user, the training curve and (full fits) similar items for every item."""
import pandas as pd

import tastemap.logs
from tastemap.matrices import load_matrix
from tastemap.models.run import Fit, fit_outputs
from tastemap.models.tables import item_names, user_names


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
    train = load_matrix(snakemake.input.matrix)
    users = user_names(pd.read_parquet(snakemake.input.users))
    items = item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)
    log.info("%s/%s/%s seed %s, fit %s: %s", w.entity, w.model, w.variant, w.seed, w.fit,
             snakemake.input.matrix)
    wants_similar = "similar" in out.keys()
    fit = Fit(w.model, dict(p.model), int(w.seed), module=p.module, threads=snakemake.threads)
    result = fit_outputs(fit, train, users, items, n=int(p.n),
                         similar_n=int(p.similar_n) if wants_similar else 0)
    result.write(out.model, out.recommendations, out.history,
                 similar=out.similar if wants_similar else None)
    log.info("wrote %s", out.model)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
