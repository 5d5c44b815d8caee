"""Rule model_figures: every training-curve figure of one seed (torch runs, full and train fits)
and the biased-MF latent-size sweep of each entity: one process for many small figures."""

import matplotlib.pyplot as plt
import pandas as pd

from tastemap import figures, logs
from tastemap._exit import finish
from tastemap.models.mf import last_epoch_metric


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, inp, out, seed = snakemake.params, snakemake.input, snakemake.output, snakemake.wildcards.seed
    for run, history, path in zip(p.runs, inp.histories, out.curves, strict=True):
        fig = figures.loss_curves(pd.read_parquet(history), run, seed, p.plots)
        fig.savefig(path)
        plt.close(fig)
    per_entity = len(p.factors)
    for i, entity in enumerate(p.mf_entities):
        paths = inp.mf_histories[i * per_entity:(i + 1) * per_entity]
        table = last_epoch_metric({int(f): pd.read_parquet(path)
                                   for f, path in zip(p.factors, paths, strict=True)}, "rmse")
        log.info("%s: RMSE (log(1 + plays)) by latent size:\n%s", entity,
                 table.to_string(index=False))
        table.to_csv(out.mf_tables[i], index=False)
        fig = figures.mf_factor_sweep(table, entity, seed, p.plots)
        fig.savefig(out.mf_figures[i])
        plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/_exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
