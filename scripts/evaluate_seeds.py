"""Leaderboard across seeds: mean +- sd of each run's metric means (csv + md)."""
import pandas as pd

import tastemap.logs
from tastemap import stats

log = tastemap.logs.setup(snakemake.log[0])
w = snakemake.wildcards
primary = snakemake.params.primary
boards = pd.concat([pd.read_csv(p, dtype={"model": str, "variant": str})
                    for p in snakemake.input.leaderboards], ignore_index=True)
table = stats.across_seeds(boards, primary)
table.insert(0, "entity", w.entity)
log.info("%d seeds %s; ranking by %s:\n%s", len(snakemake.input.leaderboards), snakemake.params.seeds,
         primary, table[table["metric"] == primary].to_string(index=False))
table.to_csv(snakemake.output.leaderboard, index=False)
with open(snakemake.output.markdown, "w") as fh:
    fh.write(f"# Leaderboard: {w.entity}, seeds {', '.join(map(str, snakemake.params.seeds))}\n\n"
             f"Ranked by {primary}; cells are mean ± sd across seeds of the per-seed means "
             "(sd blank with one seed).\n\n")
    fh.write(stats.markdown_table(table, spread="sd"))
