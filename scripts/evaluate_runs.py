"""Rule evaluate_runs: every model run of one entity and seed on the same split. Per-user
metrics of every run (validation fits, then train fits on the test split), the leaderboards with
bootstrap CIs, each model's variant chosen on validation, and the paired significance tests."""

from pathlib import Path

import matplotlib.pyplot as plt

from tastemap import evaluate, figures, logs


def main(snakemake):
    logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    seed, pairs, rmse = int(w.seed), [tuple(r) for r in p.runs], set(p.rmse_models)
    opts = dict(ks=[int(k) for k in p.ks], entity=w.entity, seed=seed, primary=p.primary,
                n_bootstrap=int(p.n_bootstrap), modules=dict(p.modules))
    splits = {"test": (inp.recs, inp.models, inp.train, inp.test,
                       (out.per_user, out.leaderboard, out.markdown))}
    if inp.valid_recs:  # validation first: its fits are scored before the test fits
        splits = {"valid": (inp.valid_recs, inp.valid_models, inp.valid_train[0],
                            inp.valid_test[0], (out.valid_per_user[0], out.valid_leaderboard[0],
                                                out.valid_markdown[0]))} | splits
    boards = {}
    for name, (recs, models, train, test, paths) in splits.items():
        runs = evaluate.make_runs(pairs, recs, models, rmse)
        per_user, boards[name] = evaluate.split_leaderboard(runs, train, test, **opts)
        per_user.to_parquet(paths[0], index=False)
        boards[name].to_csv(paths[1], index=False)
        Path(paths[2]).write_text(
            evaluate.leaderboard_markdown(boards[name], w.entity, seed, p.primary),
            encoding="utf-8")
    selected = None
    if "valid" in boards:
        selected = evaluate.select(boards["valid"], boards["test"], p.primary)
        selected.to_csv(out.selected[0], index=False)
    table, order = evaluate.significance(per_user, selected, w.entity, seed, p.primary)
    table.to_csv(out.table, index=False)
    fig = figures.significance(table, order, w.entity, seed, p.primary, p.alpha, p.dpi)
    fig.savefig(out.figure)
    plt.close(fig)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
