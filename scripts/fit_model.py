"""Rules fit_model and fit_model_valid: fit one registered recommender (with the values its
validation search chose, for a searched family) on each matrix its rule lists (fit_model: the
full matrix and the split's train part; fit_model_valid: the validation split's train part, for
a model with several variants), one after the other; for each fit write the model,
recommendations for every user and the training curve, and for the full fit similar items for
every item."""
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix
from tastemap.models.tables import item_names, user_names
from tastemap.pipeline.fit import Fit, fit_outputs
from tastemap.pipeline.search import read_chosen


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
    users = user_names(pd.read_parquet(snakemake.input.users))
    items = item_names(pd.read_parquet(snakemake.input.catalogue), w.entity)
    params = dict(p.model)
    if snakemake.input.get("chosen"):  # a searched family: the values its search chose
        params = read_chosen(snakemake.input.chosen[0])["params"]
        log.info("chosen on validation (%s): %s", snakemake.input.chosen[0], params)
    spec = Fit(w.model, params, int(w.seed), module=p.module, threads=snakemake.threads)
    for fit, matrix in zip(p.fits, snakemake.input.matrices):
        log.info("%s/%s/%s seed %s, fit %s: %s", w.entity, w.model, w.variant, w.seed, fit, matrix)
        similar_n = int(p.similar_n) if fit == "full" else 0  # similar items: full fits only
        result = fit_outputs(spec, load_matrix(matrix), users, items, n=int(p.n[fit]),
                             similar_n=similar_n)
        result.write(out[f"{fit}_model"], out[f"{fit}_recommendations"], out[f"{fit}_history"],
                     similar=out[f"{fit}_similar"] if similar_n else None)
        log.info("wrote %s", out[f"{fit}_model"])
        del result
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
