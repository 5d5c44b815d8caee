"""Rule evaluate_held_out: the users no fit has seen (split.held_out_users), folded into the train
fit of every family that can, without refitting. Validation users choose each family's variant;
test users give the leaderboard with bootstrap CIs, the Holm-corrected paired tests, and the
likes curve (n named items -> nDCG on the rest) with its figure."""

import zlib
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import load_matrix
from tastemap.evaluate import stats
from tastemap.pipeline import evaluation
from tastemap.pipeline import held_out as ho
from tastemap.viz import figures


def main(snakemake):
    logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    seed, n_boot = int(w.seed), int(p.n_bootstrap)
    stream = zlib.crc32(w.entity.encode())
    ctx = ho.context(load_matrix(inp.train), p.ks, p.long_tail_share)
    fits = [ho.Fit(m, v, f, p.modules.get(m)) for (m, v), f in zip(p.runs, inp.models, strict=True)]
    several = [f for f in fits if sum(g.model == f.model for g in fits) > 1]
    board = {"valid": pd.DataFrame(columns=["model", "variant", "metric", "mean"])}
    if several:
        valid = ho.score_part(several, load_matrix(inp.valid), p.fold_in, [seed, stream, 3], ctx)
        board["valid"] = stats.leaderboard(valid, p.primary, n_resamples=n_boot, seed=seed)
    chosen = ho.choose(board["valid"], fits, p.primary)
    test_users = load_matrix(inp.test)
    per_user = ho.score_part(chosen, test_users, p.fold_in, [seed, stream, 4], ctx)
    board["test"] = stats.leaderboard(per_user, p.primary, n_resamples=n_boot, seed=seed)
    per_user.to_parquet(out.per_user, index=False)
    board["valid"].to_csv(out.valid_leaderboard, index=False)
    board["test"].to_csv(out.leaderboard, index=False)
    evaluation.select(board["valid"], board["test"], p.primary).to_csv(out.selected, index=False)
    selected = pd.DataFrame({"model": [f.model for f in chosen],
                             "variant": [f.variant for f in chosen]})
    table, _ = evaluation.significance(per_user, selected, w.entity, seed, p.primary)
    table.to_csv(out.significance, index=False)
    curve = ho.likes_curve(chosen, test_users, p.likes_n, [seed, stream, 5], ctx, p.primary, n_boot)
    curve.to_csv(out.likes_curve, index=False)
    Path(out.markdown).write_text(ho.markdown(board["test"], chosen, curve, p.cannot, w.entity,
                                              seed, p.primary, p.fold_in), encoding="utf-8")
    fig = figures.likes_curve(curve, w.entity, seed, p.primary, {"dpi": p.dpi})
    fig.savefig(out.figure)
    plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
