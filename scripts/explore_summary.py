"""Rule explore_summary: the methods side by side for every (entity, side) of one seed, and the
chosen clustering runs of every map and SVD space of the seed (summary.csv)."""

import matplotlib.pyplot as plt
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.explore import chosen_runs
from tastemap.viz import figures


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, inp, out, seed = snakemake.params, snakemake.input, snakemake.output, snakemake.wildcards.seed
    n = len(p.methods)
    for i, (entity, side) in enumerate(p.sides):
        tables = [pd.read_parquet(path) for path in inp.clusters[i * n:(i + 1) * n]]
        fig = figures.methods_grid(p.methods, tables, entity, side, seed, p.plots)
        fig.savefig(out.figures[i])
        plt.close(fig)
    # paths are results/<dataset>/<layout path>
    summary = chosen_runs({path.split("/", 2)[2]: pd.read_csv(path) for path in inp.metrics})
    summary.to_csv(out.summary, index=False)
    log.info("%d chosen runs from %d tables\n%s", len(summary), len(inp.metrics),
             summary[summary["best"]].to_string())
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
