"""Rule model_new_users: recommendations for the named new-listener profiles of the config
(models.new_users), from the full fit, without retraining (fold-in)."""
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix
from tastemap.models.tables import favourite_plays, item_names, new_users_table, profiles_matrix
from tastemap.pipeline.fit import load_model


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, w = snakemake.params, snakemake.wildcards
    plays = load_matrix(snakemake.input.matrix)  # the full fit's matrix (user-kNN folds in from it)
    model = load_model(snakemake.input.model, w.model, p.module, train=plays)
    model.num_threads = snakemake.threads
    items = item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)
    # a favourite named without a play count counts as a heavily played item (as --likes)
    default_plays = favourite_plays(plays)
    names, rows = profiles_matrix(p.profiles, items, default_plays, key="models.new_users")
    log.info("%d profiles, %d favourites, default play count %.0f", len(names), rows.nnz,
             default_plays)
    ids, scores = model.recommend_new(rows, k=int(p.n))
    table = new_users_table(names, ids, scores, items)
    table.to_parquet(snakemake.output[0], index=False)
    for name in names:
        top = table[table["profile"] == name]["item"].head(5).tolist()
        log.info("%s -> %s", name, ", ".join(top))
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
