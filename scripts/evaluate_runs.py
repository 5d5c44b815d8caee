"""Rule evaluate_runs: every model run of one entity and seed on the same split. Per-user
metrics of every run (validation fits, then train fits on the test split), the leaderboards with
bootstrap CIs, each model's variant chosen on validation, and the paired significance tests."""
import tastemap.logs
from evaluate_leaderboard import leaderboard
from evaluate_run import evaluate_run
from evaluate_select import select
from evaluate_significance import significance
from tastemap.matrices import load_matrix


def score(runs, recs, models, train_path, test_path, w, p, log):
    """Per-user and catalogue tables of every run in ``runs`` (model, variant)."""
    train, test = load_matrix(train_path), load_matrix(test_path)
    models = iter(models)
    per_user, catalogue = [], []
    for (model, variant), rec_path in zip(runs, recs):
        model_path = next(models) if model in p.rmse_models else None
        keys = dict(entity=w.entity, seed=int(w.seed), model=model, variant=variant)
        long, cat = evaluate_run(rec_path, train, test, [int(k) for k in p.ks], keys, model_path,
                                 p.modules.get(model), log)
        per_user.append(long)
        catalogue.append(cat)
    return per_user, catalogue


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    w, p, inp, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
    runs = [tuple(r) for r in p.runs]
    args = (w.entity, w.seed, p.primary, p.n_bootstrap)
    selected = None
    if inp.valid_recs:
        log.info("validation split: %d runs", len(runs))
        tables = score(runs, inp.valid_recs, inp.valid_models, inp.valid_train[0],
                       inp.valid_test[0], w, p, log)
        _, valid_board = leaderboard(*tables, *args, (out.valid_per_user[0],
                                     out.valid_leaderboard[0], out.valid_markdown[0]), log)
    log.info("test split: %d runs", len(runs))
    tables = score(runs, inp.recs, inp.models, inp.train, inp.test, w, p, log)
    per_user, board = leaderboard(*tables, *args, (out.per_user, out.leaderboard, out.markdown), log)
    if inp.valid_recs:
        selected = select(valid_board, board, p.primary, out.selected[0], log)
    significance(per_user, selected, w.entity, w.seed, p.primary, p.alpha, p.dpi, out.table,
                 out.figure, log)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
