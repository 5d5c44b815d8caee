# Evaluate stage: every model run on the same split -> per-user metrics, leaderboards with
# bootstrap CIs, paired significance tests, sweep figures, validation-based model selection.
# Target lists: evaluate_targets() in common.smk. One evaluate_runs job per (entity, seed)
# scores every run (validation and test) and aggregates: scoring a run takes well under a
# second at the default size (10 s at Last.fm-360K size), less than starting a job for it.


def _runs(w, fit):
    """(model, variant) of the runs with a ``fit`` fit: every run, or for "valid" the runs of
    models whose variant is chosen on validation (``validated``)."""
    return [(m, v) for _, m, v in model_runs(w.entity) if fit != "valid" or validated(m)]


def _runs_files(w, template, fit):
    return [
        R(template, entity=w.entity, model=m, variant=v, seed=w.seed, fit=fit)
        for m, v in _runs(w, fit)
    ]


def _rmse_models(w, fit):
    """Fitted models the RMSE needs (families that predict ratings), in model_runs order."""
    return [
        R(L.MODEL, entity=w.entity, model=m, variant=v, seed=w.seed, fit=fit)
        for m, v in _runs(w, fit)
        if m in RMSE_MODELS
    ]


def _validation(*items):
    return list(items) if cfg("split", "validation") else []


EV_LABELS = {"entity": "{entity}", "seed": "{seed}"}


rule evaluate_runs:
    input:
        recs=lambda w: _runs_files(w, L.RECOMMENDATIONS, "train"),
        models=lambda w: _rmse_models(w, "train"),
        train=R(L.TRAIN),
        test=R(L.TEST),
        valid_recs=lambda w: _validation(*_runs_files(w, L.RECOMMENDATIONS, "valid")),
        valid_models=lambda w: _validation(*_rmse_models(w, "valid")),
        valid_train=_validation(R(L.VALID_TRAIN)),
        valid_test=_validation(R(L.VALID_TEST)),
        # the searched families' chosen values and budgets, shown beside their rows
        chosen=lambda w: search_files(w.entity, w.seed, L.SEARCH_CHOSEN),
    output:
        per_user=R(L.PER_USER),
        leaderboard=report(
            R(L.LEADERBOARD),
            caption="../report/evaluate_leaderboard.rst",
            category="Evaluation",
            labels=EV_LABELS | {"table": "leaderboard"},
        ),
        markdown=R(L.LEADERBOARD_MD),
        table=report(
            R(L.SIGNIFICANCE),
            caption="../report/evaluate_significance_table.rst",
            category="Evaluation",
            labels=EV_LABELS | {"table": "significance"},
        ),
        figure=report(
            R(L.SIGNIFICANCE_FIGURE),
            caption="../report/evaluate_significance.rst",
            category="Evaluation",
            labels=EV_LABELS | {"figure": "significance"},
        ),
        popularity_groups=report(
            R(L.POPULARITY_GROUPS),
            caption="../report/evaluate_popularity_bias.rst",
            category="Evaluation",
            labels=EV_LABELS | {"table": "popularity bias"},
        ),
        popularity_figure=report(
            R(L.POPULARITY_FIGURE),
            caption="../report/evaluate_popularity_bias.rst",
            category="Evaluation",
            labels=EV_LABELS | {"figure": "popularity bias"},
        ),
        # with a validation split: its scores, and each model's variant chosen on them
        valid_per_user=_validation(R(L.VALID_PER_USER)),
        valid_leaderboard=_validation(
            report(
                R(L.VALID_LEADERBOARD),
                caption="../report/evaluate_valid_leaderboard.rst",
                category="Evaluation",
                labels=EV_LABELS | {"table": "valid leaderboard"},
            )
        ),
        valid_markdown=_validation(R(L.VALID_LEADERBOARD_MD)),
        selected=_validation(
            report(
                R(L.SELECTED),
                caption="../report/evaluate_selected.rst",
                category="Evaluation",
                labels=EV_LABELS | {"table": "selected variants"},
            )
        ),
    params:
        runs=lambda w: _runs(w, "train"),
        valid_runs=lambda w: _runs(w, "valid"),
        rmse_models=sorted(RMSE_MODELS),
        searched=lambda w: searched_models(w.entity),
        configured=lambda w: configured_values(w.entity),
        modules=lambda w: {
            m: model_module(m) for _, m, _ in model_runs(w.entity) if model_module(m)
        },
        ks=cfg("evaluate", "ks"),
        primary=cfg("evaluate", "primary_metric"),
        n_bootstrap=cfg("evaluate", "n_bootstrap"),
        long_tail_share=cfg("evaluate", "long_tail_share"),
        alpha=cfg("evaluate", "alpha"),
        dpi=cfg("plots", "dpi"),
    log:
        LOG(f"{L.EVAL_DIR}/evaluate"),
    benchmark:
        BENCH(f"{L.EVAL_DIR}/evaluate")
    # the end of the fits -> evaluation chain, as fit_model
    priority: 2
    threads: 1
    resources:
        # measured (docs/benchmarks.md, MSD section): up to 6.7 GiB for 1M users' three runs
        # with the popularity metrics (9.9-10.1 GB requested), 2.4 GiB at Last.fm-360K size;
        # twice on a retry
        mem_mb=mem_by_input(8),
        runtime=runtime_by_input,
    script:
        "../../scripts/evaluate_runs.py"


def _fold_in_runs(w):
    """(model, variant) of every run of the families that fold in a new listener."""
    return [(m, v) for _, m, v in model_runs(w.entity) if m in NEW_USER_MODELS]


if held_out_users():

    rule evaluate_held_out:
        input:
            models=lambda w: [
                R(L.MODEL, entity=w.entity, model=m, variant=v, seed=w.seed, fit="train")
                for m, v in _fold_in_runs(w)
            ],
            train=R(L.TRAIN),
            valid=R(L.HELD_OUT_VALID),
            test=R(L.HELD_OUT_TEST),
        output:
            per_user=R(L.NEW_PER_USER),
            valid_leaderboard=R(L.NEW_VALID_LEADERBOARD),
            leaderboard=report(
                R(L.NEW_LEADERBOARD),
                caption="../report/evaluate_held_out.rst",
                category="Evaluation",
                labels=EV_LABELS | {"table": "new listeners"},
            ),
            markdown=R(L.NEW_LEADERBOARD_MD),
            selected=report(
                R(L.NEW_SELECTED),
                caption="../report/evaluate_held_out.rst",
                category="Evaluation",
                labels=EV_LABELS | {"table": "new listeners: selected variants"},
            ),
            significance=report(
                R(L.NEW_SIGNIFICANCE),
                caption="../report/evaluate_held_out.rst",
                category="Evaluation",
                labels=EV_LABELS | {"table": "new listeners: significance"},
            ),
            likes_curve=report(
                R(L.LIKES_CURVE),
                caption="../report/evaluate_likes_curve.rst",
                category="Evaluation",
                labels=EV_LABELS | {"table": "likes curve"},
            ),
            figure=report(
                R(L.LIKES_FIGURE),
                caption="../report/evaluate_likes_curve.rst",
                category="Evaluation",
                labels=EV_LABELS | {"figure": "likes curve"},
            ),
        params:
            runs=_fold_in_runs,
            modules=lambda w: {m: model_module(m) for m, _ in _fold_in_runs(w) if model_module(m)},
            cannot=lambda w: list(
                dict.fromkeys(m for _, m, _ in model_runs(w.entity) if m not in NEW_USER_MODELS)
            ),
            ks=cfg("evaluate", "ks"),
            primary=cfg("evaluate", "primary_metric"),
            n_bootstrap=cfg("evaluate", "n_bootstrap"),
            long_tail_share=cfg("evaluate", "long_tail_share"),
            fold_in=cfg("evaluate", "held_out_users", "fold_in"),
            likes_n=cfg("evaluate", "held_out_users", "likes_n"),
            dpi=cfg("plots", "dpi"),
        log:
            LOG(f"{L.NEW_DIR}/evaluate"),
        benchmark:
            BENCH(f"{L.NEW_DIR}/evaluate")
        priority: 2
        threads: 1
        resources:
            # the models are loaded one at a time; dense score blocks of block_bytes
            mem_mb=mem_by_input(3),
            runtime=runtime_by_input,
        script:
            "../../scripts/evaluate_held_out.py"


def _sweeps():
    """(entity, param) of every sweep figure; the same for every seed."""
    return [(e, p) for e in evaluated_entities() for p in sweep_params(e)]


if _sweeps():

    rule evaluate_sweeps:
        input:
            leaderboards=[R(L.LEADERBOARD, entity=e) for e, _ in _sweeps()],
        output:
            figures=[
                report(
                    R(L.SWEEP_FIGURE, entity=e, param=p),
                    caption="../report/evaluate_sweep.rst",
                    category="Evaluation",
                    labels={"entity": e, "seed": "{seed}", "figure": f"sweep {p}"},
                )
                for e, p in _sweeps()
            ],
        params:
            sweeps=_sweeps(),
            grids=[sweep_grid(e, p) for e, p in _sweeps()],
            primary=cfg("evaluate", "primary_metric"),
            metrics=cfg("evaluate", "sweep_metrics"),
            dpi=cfg("plots", "dpi"),
        log:
            LOG(L.path(L.SEED_JOB, stage="evaluate", job="sweeps")),
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../../scripts/evaluate_sweeps.py"


if evaluated_entities():

    rule evaluate_across_seeds:
        input:
            leaderboards=[
                R(L.LEADERBOARD, entity=e, seed=s) for e in evaluated_entities() for s in SEEDS
            ],
        output:
            leaderboards=[
                report(
                    R(L.SEEDS_LEADERBOARD, entity=e),
                    caption="../report/evaluate_leaderboard_seeds.rst",
                    category="Evaluation",
                    labels={"entity": e, "seed": "all", "table": "leaderboard"},
                )
                for e in evaluated_entities()
            ],
            markdown=[R(L.SEEDS_LEADERBOARD_MD, entity=e) for e in evaluated_entities()],
        params:
            entities=evaluated_entities(),
            primary=cfg("evaluate", "primary_metric"),
            seeds=SEEDS,
        log:
            LOG("evaluate/across_seeds"),
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../../scripts/evaluate_across_seeds.py"


rule evaluate_published:
    input:
        leaderboard=R(L.SEEDS_LEADERBOARD),
        table=cfg("evaluate", "published", "table") or [],
    output:
        table=report(
            R(L.PUBLISHED),
            caption="../report/evaluate_published.rst",
            category="Evaluation",
            labels={"entity": "{entity}", "seed": "all", "table": "published"},
        ),
        markdown=R(L.PUBLISHED_MD),
    params:
        source=cfg("evaluate", "published", "source"),
    log:
        LOG(L.PUBLISHED.removesuffix(".csv")),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/evaluate_published.py"
