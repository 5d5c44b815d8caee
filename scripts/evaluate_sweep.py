"""Rule evaluate_sweeps: test metrics against each swept hyper-parameter, one line per model;
one figure per (entity, parameter) of one seed."""
import matplotlib.pyplot as plt
import pandas as pd

import tastemap.logs
from tastemap import plots, stats


def draw(leaderboard_path, entity, seed, param, prefixes, metrics, dpi, figure_path, log):
    board = pd.read_csv(leaderboard_path, dtype={"model": str, "variant": str})
    table = stats.sweep_table(board, dict(prefixes))
    missing = [m for m in metrics if m not in set(table["metric"])]
    if missing:
        raise ValueError(f"evaluate.sweep_metrics: {missing} not in {leaderboard_path}")
    log.info("sweep of %s over models %s", param, list(prefixes))
    fig = plots.sweep_lines(table, param=param, metrics=metrics, dpi=int(dpi),
                            title=f"{entity}, seed {seed}: sweep of {param} (test, 95% bootstrap CI)")
    fig.savefig(figure_path)
    plt.close(fig)


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p = snakemake.params
    for (entity, param), prefixes, board, figure in zip(p.sweeps, p.prefixes,
                                                        snakemake.input.leaderboards,
                                                        snakemake.output.figures):
        draw(board, entity, snakemake.wildcards.seed, param, prefixes, list(p.metrics), p.dpi,
             figure, log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
