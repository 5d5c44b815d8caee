"""Rule evaluate_sweeps: test metrics against each swept hyper-parameter, one line per model (a
model that sweeps other keys too is drawn at the values of its best-ranked variant for them; the
legend says which); one figure per (entity, parameter) of one seed."""

import matplotlib.pyplot as plt
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.viz import figures


def main(snakemake):
    logs.setup(snakemake.log[0])
    p, seed = snakemake.params, snakemake.wildcards.seed
    for (entity, param), grid, path, figure in zip(p.sweeps, p.grids, snakemake.input.leaderboards,
                                                   snakemake.output.figures, strict=True):
        board = pd.read_csv(path, dtype={"model": str, "variant": str})
        fig = figures.sweep(board, grid, param, entity, seed, list(p.metrics), p.primary, p.dpi,
                            source=path)
        fig.savefig(figure)
        plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
