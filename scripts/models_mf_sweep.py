"""Rule mf_factor_sweep: last-epoch train and validation RMSE of every MF latent size."""
import pandas as pd

import tastemap.logs
from tastemap.models.mf import last_epoch_metric
from tastemap.plots import factor_sweep


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p = snakemake.wildcards, snakemake.params
    histories = {int(f): pd.read_parquet(path) for f, path in zip(p.factors, snakemake.input.histories)}
    table = last_epoch_metric(histories, "rmse")
    log.info("RMSE (log(1 + plays)) by latent size:\n%s", table.to_string(index=False))
    table.to_csv(snakemake.output.table, index=False)
    width = p.plots["figsize"][0]
    fig = factor_sweep(
        table, metric="rmse", figsize=(max(6.0, width * 0.6), max(4.0, width * 0.4)),
        dpi=p.plots["dpi"],
        title=f"biased MF, user x {w.entity} (seed {w.seed}, train fits)\n"
              "RMSE of log(1 + plays) vs latent size",
    )
    fig.savefig(snakemake.output.figure)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
