"""Rule fit_model: fit one registered recommender on the full matrix, the split's train part and
(with a validation split) the validation train part, one after the other; for each fit write
the model, recommendations for every user and the training curve, and for the full fit similar
items for every item."""
import pandas as pd
import pyarrow.parquet as pq

import tastemap.logs
from tastemap.matrices import load_matrix
from tastemap.models.run import fit_outputs
from tastemap.models.tables import item_names, user_names


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
    users = user_names(pd.read_parquet(snakemake.input.users))
    items = item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)
    for fit, matrix in zip(p.fits, snakemake.input.matrices):
        log.info("%s/%s/%s seed %s, fit %s: %s", w.entity, w.model, w.variant, w.seed, fit, matrix)
        train = load_matrix(matrix)
        similar_n = int(p.similar_n) if fit == "full" else 0  # similar items: full fits only
        model, recs, similar, history = fit_outputs(
            w.model, dict(p.model), int(w.seed), train, users, items, int(p.n[fit]), similar_n,
            threads=snakemake.threads,
        )
        model.save(out[f"{fit}_model"])
        recs.to_parquet(out[f"{fit}_recommendations"], index=False)
        if similar_n:
            similar.to_parquet(out[f"{fit}_similar"], index=False)
        pq.write_table(history, out[f"{fit}_history"])
        log.info("wrote %s", out[f"{fit}_model"])
        del model, recs, similar, train


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
