"""Test metrics against one swept hyper-parameter, one line per model."""
import pandas as pd

import tastemap.logs
from tastemap import plots, stats

log = tastemap.logs.setup(snakemake.log[0])
w = snakemake.wildcards
board = pd.read_csv(snakemake.input.leaderboard, dtype={"model": str, "variant": str})
table = stats.sweep_table(board, dict(snakemake.params.prefixes))
metrics = list(snakemake.params.metrics)
missing = [m for m in metrics if m not in set(table["metric"])]
if missing:
    raise ValueError(f"evaluate.sweep_metrics: {missing} not in {snakemake.input.leaderboard}")
log.info("sweep of %s over models %s", w.param, list(snakemake.params.prefixes))
fig = plots.sweep_lines(table, param=w.param, metrics=metrics, dpi=int(snakemake.params.dpi),
                        title=f"{w.entity}, seed {w.seed}: sweep of {w.param} (test, 95% bootstrap CI)")
fig.savefig(snakemake.output.figure)
