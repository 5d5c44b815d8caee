"""Rule model_figures: every training-curve figure of one seed (full and train fits of the
families with has_loss_curve) and each latent-size sweep (per entity, each family with
has_factor_sweep): one process for many small figures."""

import matplotlib.pyplot as plt
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.models.mf import last_epoch_metric
from tastemap.viz import figures


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, inp, out, seed = snakemake.params, snakemake.input, snakemake.output, snakemake.wildcards.seed
    for run, history, path in zip(p.runs, inp.histories, out.curves, strict=True):
        fig = figures.loss_curves(pd.read_parquet(history), run, seed, p.plots)
        fig.savefig(path)
        plt.close(fig)
    start = 0  # sweep_histories: the train fits of every sweep, one after the other
    for (entity, model, factors), table_path, figure_path in zip(
            p.sweeps, out.sweep_tables, out.sweep_figures, strict=True):
        paths = inp.sweep_histories[start:start + len(factors)]
        start += len(factors)
        table = last_epoch_metric({int(f): pd.read_parquet(path)
                                   for f, path in zip(factors, paths, strict=True)}, "rmse")
        log.info("%s, %s: RMSE (log(1 + plays)) by latent size:\n%s", entity, model,
                 table.to_string(index=False))
        table.to_csv(table_path, index=False)
        fig = figures.mf_factor_sweep(table, entity, seed, p.plots)
        fig.savefig(figure_path)
        plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
