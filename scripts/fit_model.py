"""Rules fit_model / fit_model_split: fit one registered recommender, write the model,
recommendations for every user, the training curve and (full fits) similar items for every item."""
import pandas as pd
import pyarrow.parquet as pq

import tastemap.logs
from tastemap.matrices import load_matrix
from tastemap.models.run import fit_outputs
from tastemap.models.tables import item_names, user_names


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p = snakemake.wildcards, snakemake.params
    train = load_matrix(snakemake.input.matrix)
    users = user_names(pd.read_parquet(snakemake.input.users))
    items = item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)
    log.info("%s/%s/%s seed %s, fit %s: %s", w.entity, w.model, w.variant, w.seed, w.fit,
             snakemake.input.matrix)
    wants_similar = "similar" in snakemake.output.keys()
    model, recs, similar, history = fit_outputs(
        w.model, dict(p.model), int(w.seed), train, users, items, int(p.n),
        int(p.similar_n) if wants_similar else 0, threads=snakemake.threads,
    )
    model.save(snakemake.output.model)
    recs.to_parquet(snakemake.output.recommendations, index=False)
    if wants_similar:
        similar.to_parquet(snakemake.output.similar, index=False)
    pq.write_table(history, snakemake.output.history)
    log.info("wrote %s", snakemake.output.model)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
