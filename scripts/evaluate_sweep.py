"""Rule evaluate_sweeps: test metrics against each swept hyper-parameter, one line per model (a
model that sweeps other keys too is drawn at the values of its best-ranked variant for them; the
legend says which); one figure per (entity, parameter) of one seed."""
import matplotlib.pyplot as plt
import pandas as pd

import tastemap.logs
from tastemap import plots, stats


def draw(leaderboard_path, entity, seed, param, grid, metrics, primary, dpi, figure_path, log):
    board = pd.read_csv(leaderboard_path, dtype={"model": str, "variant": str})
    table = stats.sweep_table(board, dict(grid), param)
    missing = [m for m in metrics if m not in set(table["metric"])]
    if missing:
        raise ValueError(f"evaluate.sweep_metrics: {missing} not in {leaderboard_path}")
    log.info("sweep of %s: %s", param, sorted(set(table["line"])))
    fig = plots.sweep_lines(table, param=param, metrics=metrics, dpi=int(dpi),
                            title=f"{entity}, seed {seed}: sweep of {param} (test, 95% bootstrap "
                                  f"CI; ranked by {primary})")
    fig.savefig(figure_path)
    plt.close(fig)


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p = snakemake.params
    for (entity, param), grid, board, figure in zip(p.sweeps, p.grids,
                                                    snakemake.input.leaderboards,
                                                    snakemake.output.figures):
        draw(board, entity, snakemake.wildcards.seed, param, grid, list(p.metrics), p.primary,
             p.dpi, figure, log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
