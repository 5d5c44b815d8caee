"""All runs of one entity and seed: per_user.parquet, leaderboard with bootstrap CIs (csv + md)."""
import pandas as pd

from tastemap import stats


def leaderboard(per_user, catalogue, entity, seed, primary, n_bootstrap, out, log):
    """Write ``out`` = (per_user, leaderboard, markdown) paths; returns the leaderboard."""
    per_user = pd.concat(per_user, ignore_index=True)
    for col in ("entity", "model", "variant", "metric"):
        per_user[col] = per_user[col].astype(str).astype("category")
    catalogue = pd.concat(catalogue, ignore_index=True)
    log.info("%d per-user rows of %d runs", len(per_user), len(catalogue.groupby(["model", "variant"])))
    board = stats.leaderboard(per_user, primary, catalogue, n_resamples=int(n_bootstrap), seed=int(seed))
    board.insert(0, "seed", int(seed))
    board.insert(0, "entity", entity)
    log.info("ranking by %s:\n%s", primary,
             board[board["metric"] == primary][["rank", "model", "variant", "mean", "ci_low", "ci_high"]]
             .to_string(index=False))
    per_user_path, board_path, markdown_path = out
    per_user.to_parquet(per_user_path, index=False)
    board.to_csv(board_path, index=False)
    with open(markdown_path, "w") as fh:
        fh.write(f"# Leaderboard: {entity}, seed {seed}\n\nRanked by {primary}; cells are mean "
                 f"[95% bootstrap CI] over {int(board['n_users'].max())} evaluated users.\n\n")
        fh.write(stats.markdown_table(board, spread="ci"))
    return per_user, board
