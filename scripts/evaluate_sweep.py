"""Test metrics against one swept hyper-parameter, one line per model (a model that sweeps other
keys too is drawn at the values of its best-ranked variant for them; the legend says which)."""
import pandas as pd

import tastemap.logs
from tastemap import plots, stats

log = tastemap.logs.setup(snakemake.log[0])
w = snakemake.wildcards
board = pd.read_csv(snakemake.input.leaderboard, dtype={"model": str, "variant": str})
table = stats.sweep_table(board, dict(snakemake.params.grid), w.param)
metrics = list(snakemake.params.metrics)
missing = [m for m in metrics if m not in set(table["metric"])]
if missing:
    raise ValueError(f"evaluate.sweep_metrics: {missing} not in {snakemake.input.leaderboard}")
log.info("sweep of %s: %s", w.param, sorted(set(table["line"])))
fig = plots.sweep_lines(table, param=w.param, metrics=metrics, dpi=int(snakemake.params.dpi),
                        title=f"{w.entity}, seed {w.seed}: sweep of {w.param} (test, 95% bootstrap "
                              f"CI; ranked by {snakemake.params.primary})")
fig.savefig(snakemake.output.figure)
