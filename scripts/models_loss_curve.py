"""Rule model_loss_curve: the training curves (history.parquet) of one fit as a figure."""
import pandas as pd

import tastemap.logs
from tastemap.plots import loss_curves


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p = snakemake.wildcards, snakemake.params
    history = pd.read_parquet(snakemake.input.history)
    log.info("%s: %d rows, metrics %s", snakemake.input.history, len(history),
             sorted(set(history["metric"])))
    width = p.plots["figsize"][0]
    fig = loss_curves(
        history, figsize=(max(8.0, width), max(3.5, width * 0.4)), dpi=p.plots["dpi"],
        title=f"{w.model} {w.variant}, user x {w.entity} (seed {w.seed}, {w.fit} fit): training curves",
    )
    fig.savefig(snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
