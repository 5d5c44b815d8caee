"""Paired Wilcoxon and t-tests of every pair of models, Holm-corrected; table + heatmap."""
import pandas as pd

import tastemap.logs
from tastemap import plots, stats

log = tastemap.logs.setup(snakemake.log[0])
w = snakemake.wildcards
primary = snakemake.params.primary

per_user = pd.read_parquet(snakemake.input.per_user)
runs = None
if snakemake.input.selected:
    runs = pd.read_csv(snakemake.input.selected[0], dtype={"model": str, "variant": str})
    log.info("comparing each model's validation-selected variant: %s",
             ", ".join(f"{m}/{v}" for m, v in zip(runs["model"], runs["variant"])))
values = stats.run_values(per_user, primary, runs)
log.info("%d users x %d runs on %s", *values.shape, primary)
table = stats.pairwise_significance(values)
table.insert(0, "metric", primary)
table.insert(0, "seed", int(w.seed))
table.insert(0, "entity", w.entity)
log.info("pairs:\n%s", table[["a", "b", "mean_diff", "wilcoxon_p_holm", "t_p_holm"]].to_string(index=False))
table.to_csv(snakemake.output.table, index=False)

order = values.mean().sort_values(ascending=False).index.tolist()
fig = plots.significance_matrix(
    table, order, metric=primary, alpha=float(snakemake.params.alpha), dpi=int(snakemake.params.dpi),
    title=f"{w.entity}, seed {w.seed}: paired Wilcoxon on {primary}, Holm-corrected p (A vs B)",
)
fig.savefig(snakemake.output.figure)
