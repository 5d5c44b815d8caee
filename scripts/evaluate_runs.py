"""Rule evaluate_runs: every model run of one entity and seed on the same split. Per-user
metrics of every run (the validation fits of models with several variants, then the train fits
of every run on the test split), the leaderboards with bootstrap CIs, each model's variant
chosen on validation (a model with one variant: that one; a searched family: its ``tuned``
run, with the values and budget of its search beside its leaderboard row), the paired
significance tests, and the popularity bias of the chosen variants (by mainstreaminess group)."""

import matplotlib.pyplot as plt

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.pipeline import evaluation as evaluate
from tastemap.pipeline.search import read_chosen
from tastemap.viz import figures


def main(snakemake):
    logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    seed, rmse = int(w.seed), set(p.rmse_models)
    opts = dict(ks=[int(k) for k in p.ks], entity=w.entity, seed=seed, primary=p.primary,
                n_bootstrap=int(p.n_bootstrap), modules=dict(p.modules),
                long_tail_share=float(p.long_tail_share))
    splits = {"test": (p.runs, inp.recs, inp.models, inp.train, inp.test,
                       (out.per_user, out.leaderboard, out.markdown))}
    if inp.valid_train:  # validation first: its fits are scored before the test fits
        splits = {"valid": (p.valid_runs, inp.valid_recs, inp.valid_models, inp.valid_train[0],
                            inp.valid_test[0], (out.valid_per_user[0], out.valid_leaderboard[0],
                                                out.valid_markdown[0]))} | splits
    searched = {m: read_chosen(f) for m, f in zip(p.searched, inp.chosen, strict=True)}
    boards, empty = {}, []
    for name, (pairs, recs, models, train, test, paths) in splits.items():
        if not pairs:  # no model of this entity has several variants: nothing to choose
            empty.append((name, paths))
            continue
        runs = evaluate.make_runs([tuple(r) for r in pairs], recs, models, rmse)
        per_user, boards[name] = evaluate.split_leaderboard(runs, train, test, **opts)
        if name == "test":  # beside each row: how its values were chosen
            boards[name] = evaluate.attach_search(boards[name], searched, p.configured)
        evaluate.write_split(per_user, boards[name], paths, w.entity, seed, p.primary)
    for name, paths in empty:  # the test split's columns, no rows
        boards[name] = boards["test"].iloc[:0]
        evaluate.write_split(per_user.iloc[:0], boards[name], paths, w.entity, seed, p.primary)
    selected = None
    if "valid" in boards:
        selected = evaluate.select(boards["valid"], boards["test"], p.primary)
        selected.to_csv(out.selected[0], index=False)
    table, order = evaluate.significance(per_user, selected, w.entity, seed, p.primary)
    table.to_csv(out.table, index=False)
    fig = figures.significance(table, order, w.entity, seed, p.primary, p.alpha, p.dpi)
    fig.savefig(out.figure)
    plt.close(fig)
    # popularity bias of each model's chosen variant: by mainstreaminess group, and overall
    grouped = evaluate.popularity_groups(per_user, inp.train, selected, p.primary,
                                         int(p.n_bootstrap), seed)
    grouped.to_csv(out.popularity_groups, index=False)
    k = int(p.primary.split("@")[1])
    summary = evaluate.popularity_summary(boards["test"], selected, k)
    fig = figures.popularity_bias(summary, grouped, w.entity, seed, k, {"dpi": p.dpi})
    fig.savefig(out.popularity_figure)
    plt.close(fig)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
