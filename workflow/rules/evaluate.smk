# Evaluate stage: every model run on the same split -> per-user metrics, leaderboards with
# bootstrap CIs, paired significance tests, sweep figures, validation-based model selection.
# Target lists: evaluate_targets() in common.smk. One evaluate_run job per (entity, model,
# variant, seed, fit), so a new sweep value adds only its own evaluate_run jobs + aggregations.


def EV(path):
    """Path under results/<dataset>/evaluate/{entity}/seed{seed}/."""
    return R(f"evaluate/{{entity}}/seed{{seed}}/{path}")


def _eval_matrix(w, which):
    """train/test matrix of a fit: the split's, or the validation split's for fit=valid."""
    sub = "valid/" if w.fit == "valid" else ""
    return R(f"split/seed{w.seed}/{sub}{which}_{w.entity}.npz")


def _runs_of(w, fit, name):
    return [
        R(f"evaluate/{e}/seed{w.seed}/runs/{m}/{v}/{fit}/{name}")
        for e, m, v in model_runs(w.entity)
    ]


rule evaluate_run:
    input:
        recs=lambda w: f"{model_dir(w.entity, w.model, w.variant, w.seed, w.fit)}/recommendations.parquet",
        train=lambda w: _eval_matrix(w, "train"),
        test=lambda w: _eval_matrix(w, "test"),
        model=lambda w: (
            [f"{model_dir(w.entity, w.model, w.variant, w.seed, w.fit)}/model.npz"]
            if w.model in RMSE_MODELS
            else []
        ),
    output:
        per_user=EV("runs/{model}/{variant}/{fit}/per_user.parquet"),
        catalogue=EV("runs/{model}/{variant}/{fit}/catalogue.csv"),
    wildcard_constraints:
        fit=r"train|valid",
    params:
        ks=cfg("evaluate", "ks"),
        module=lambda w: model_module(w.model),
    log:
        LOG("evaluate/{entity}/seed{seed}/run_{model}_{variant}_{fit}.log"),
    benchmark:
        BENCH("evaluate/{entity}/seed{seed}/run_{model}_{variant}_{fit}.tsv")
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(40 * input.size_mb)),
        runtime=60,
    script:
        "../../scripts/evaluate_run.py"


rule evaluate_leaderboard:
    input:
        per_user=lambda w: _runs_of(w, "train", "per_user.parquet"),
        catalogue=lambda w: _runs_of(w, "train", "catalogue.csv"),
    output:
        per_user=EV("per_user.parquet"),
        leaderboard=report(
            EV("leaderboard.csv"),
            caption="../report/evaluate_leaderboard.rst",
            category="Evaluation",
            labels={"entity": "{entity}", "seed": "{seed}", "table": "leaderboard"},
        ),
        markdown=EV("leaderboard.md"),
    params:
        primary=cfg("evaluate", "primary_metric"),
        n_bootstrap=cfg("evaluate", "n_bootstrap"),
    log:
        LOG("evaluate/{entity}/seed{seed}/leaderboard.log"),
    benchmark:
        BENCH("evaluate/{entity}/seed{seed}/leaderboard.tsv")
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(60 * input.size_mb)),
        runtime=60,
    script:
        "../../scripts/evaluate_leaderboard.py"


use rule evaluate_leaderboard as evaluate_valid_leaderboard with:
    input:
        per_user=lambda w: _runs_of(w, "valid", "per_user.parquet"),
        catalogue=lambda w: _runs_of(w, "valid", "catalogue.csv"),
    output:
        per_user=EV("valid/per_user.parquet"),
        leaderboard=report(EV("valid/leaderboard.csv"), caption="../report/evaluate_valid_leaderboard.rst",
                           category="Evaluation",
                           labels={"entity": "{entity}", "seed": "{seed}", "table": "valid leaderboard"}),
        markdown=EV("valid/leaderboard.md"),
    log:
        LOG("evaluate/{entity}/seed{seed}/valid_leaderboard.log"),
    benchmark:
        BENCH("evaluate/{entity}/seed{seed}/valid_leaderboard.tsv")


rule evaluate_select:
    input:
        valid=EV("valid/leaderboard.csv"),
        test=EV("leaderboard.csv"),
    output:
        selected=report(
            EV("selected.csv"),
            caption="../report/evaluate_selected.rst",
            category="Evaluation",
            labels={"entity": "{entity}", "seed": "{seed}", "table": "selected variants"},
        ),
    params:
        primary=cfg("evaluate", "primary_metric"),
    log:
        LOG("evaluate/{entity}/seed{seed}/select.log"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/evaluate_select.py"


rule evaluate_significance:
    input:
        per_user=EV("per_user.parquet"),
        # with a validation split, each model enters with its variant chosen on validation;
        # without one, every run is compared
        selected=lambda w: (
            [R(f"evaluate/{w.entity}/seed{w.seed}/selected.csv")] if cfg("split", "validation") else []
        ),
    output:
        table=report(EV("significance.csv"), caption="../report/evaluate_significance_table.rst",
                     category="Evaluation",
                     labels={"entity": "{entity}", "seed": "{seed}", "table": "significance"}),
        figure=report(
            EV("significance.png"),
            caption="../report/evaluate_significance.rst",
            category="Evaluation",
            labels={"entity": "{entity}", "seed": "{seed}", "figure": "significance"},
        ),
    params:
        primary=cfg("evaluate", "primary_metric"),
        alpha=cfg("evaluate", "alpha"),
        dpi=cfg("plots", "dpi"),
    log:
        LOG("evaluate/{entity}/seed{seed}/significance.log"),
    benchmark:
        BENCH("evaluate/{entity}/seed{seed}/significance.tsv")
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(20 * input.size_mb)),
        runtime=30,
    script:
        "../../scripts/evaluate_significance.py"


rule evaluate_sweep:
    input:
        leaderboard=EV("leaderboard.csv"),
    output:
        figure=report(
            EV("sweep_{param}.png"),
            caption="../report/evaluate_sweep.rst",
            category="Evaluation",
            labels={"entity": "{entity}", "seed": "{seed}", "figure": "sweep {param}"},
        ),
    wildcard_constraints:
        param=r"[A-Za-z0-9_]+",
    params:
        grid=lambda w: sweep_grid(w.entity, w.param),
        primary=cfg("evaluate", "primary_metric"),
        metrics=cfg("evaluate", "sweep_metrics"),
        dpi=cfg("plots", "dpi"),
    log:
        LOG("evaluate/{entity}/seed{seed}/sweep_{param}.log"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/evaluate_sweep.py"


rule evaluate_across_seeds:
    input:
        leaderboards=lambda w: [R(f"evaluate/{w.entity}/seed{s}/leaderboard.csv") for s in SEEDS],
    output:
        leaderboard=report(R("evaluate/{entity}/leaderboard.csv"),
                           caption="../report/evaluate_leaderboard_seeds.rst", category="Evaluation",
                           labels={"entity": "{entity}", "seed": "all", "table": "leaderboard"}),
        markdown=R("evaluate/{entity}/leaderboard.md"),
    params:
        primary=cfg("evaluate", "primary_metric"),
        seeds=SEEDS,
    log:
        LOG("evaluate/{entity}/across_seeds.log"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/evaluate_seeds.py"
