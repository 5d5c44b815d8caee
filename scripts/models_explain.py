"""Rule model_explanations: which played items drove each recommendation of a seeded sample of
users (ALS full fit, implicit's explain)."""
import pandas as pd

import tastemap.logs
from tastemap.explain import explanations_table, sample_users
from tastemap.matrices import load_matrix
from tastemap.models.base import Recommender
from tastemap.models.tables import item_names


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p, w = snakemake.params, snakemake.wildcards
    model = Recommender.load(snakemake.input.model)
    plays = load_matrix(snakemake.input.matrix)
    items = item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)
    recs = pd.read_parquet(snakemake.input.recommendations)
    users = sample_users(plays, int(p.n_users), int(w.seed))
    log.info("explaining the recommendations of %d users", len(users))
    table = explanations_table(model, plays, recs, users, items, n=int(p.n))
    table.to_parquet(snakemake.output[0], index=False)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
