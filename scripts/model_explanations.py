"""Rule model_explanations: which played items drove each recommendation of a seeded sample of
users (full fits of the families that declare `explains`)."""
import pandas as pd

from tastemap.app.explain import explanations_table, sample_users
from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix
from tastemap.models.tables import item_names
from tastemap.pipeline.fit import load_model


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, w = snakemake.params, snakemake.wildcards
    plays = load_matrix(snakemake.input.matrix)
    model = load_model(snakemake.input.model, w.model, p.module, train=plays)
    items = item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)
    recs = pd.read_parquet(snakemake.input.recommendations)
    users = sample_users(plays, int(p.n_users), int(w.seed))
    log.info("explaining the recommendations of %d users", len(users))
    table = explanations_table(model, plays, recs, users, items, n=int(p.n))
    table.to_parquet(snakemake.output[0], index=False)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
