"""All runs of one entity and seed: per_user.parquet, leaderboard with bootstrap CIs (csv + md)."""
import pandas as pd

import tastemap.logs
from tastemap import stats

log = tastemap.logs.setup(snakemake.log[0])
w = snakemake.wildcards
primary = snakemake.params.primary

per_user = pd.concat([pd.read_parquet(p) for p in snakemake.input.per_user], ignore_index=True)
for col in ("entity", "model", "variant", "metric"):
    per_user[col] = per_user[col].astype(str).astype("category")
catalogue = pd.concat([pd.read_csv(p) for p in snakemake.input.catalogue], ignore_index=True)
log.info("%d per-user rows of %d runs", len(per_user), len(snakemake.input.per_user))

board = stats.leaderboard(per_user, primary, catalogue, n_resamples=int(snakemake.params.n_bootstrap),
                          seed=int(w.seed))
board.insert(0, "seed", int(w.seed))
board.insert(0, "entity", w.entity)
log.info("ranking by %s:\n%s", primary,
         board[board["metric"] == primary][["rank", "model", "variant", "mean", "ci_low", "ci_high"]]
         .to_string(index=False))

per_user.to_parquet(snakemake.output.per_user, index=False)
board.to_csv(snakemake.output.leaderboard, index=False)
with open(snakemake.output.markdown, "w") as fh:
    fh.write(f"# Leaderboard: {w.entity}, seed {w.seed}\n\nRanked by {primary}; cells are mean "
             f"[95% bootstrap CI] over {int(board['n_users'].max())} evaluated users.\n\n")
    fh.write(stats.markdown_table(board, spread="ci"))
