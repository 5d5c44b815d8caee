"""Rule search_summary: the trials of every searched family of one entity and seed as one table
(search.csv) and one figure (search.png: validation score against trial)."""
import matplotlib.pyplot as plt
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.pipeline.search import read_chosen, summary_table
from tastemap.viz import figures


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    trials = {m: pd.read_parquet(f) for m, f in zip(p.models, inp.trials, strict=True)}
    records = {m: read_chosen(f) for m, f in zip(p.models, inp.chosen, strict=True)}
    table = summary_table(trials, records)
    table.to_csv(out.table, index=False)
    for model, record in records.items():
        log.info("%s: %d trials, chosen trial %d (%s %.5f): %s", model, record["trials"],
                 record["best_trial"], record["metric"], record["score"], record["searched"])
    fig = figures.search(table, w.entity, int(w.seed), p.metric, p.plots)
    fig.savefig(out.figure)
    plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
