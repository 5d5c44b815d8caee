# Search stage: each searched family's hyper-parameters chosen on the validation split
# (tastemap.pipeline.search). The fits of the family's one variant, `tuned`, read the chosen values
# (fit_model's `chosen` input), so a changed budget or space reruns only that family's search,
# its fits and the evaluation. Targets: search_targets() in common.smk.
from tastemap.models.space import describe_space


rule search_model:
    input:
        train=R(L.VALID_TRAIN),
        test=R(L.VALID_TEST),
    output:
        trials=R(L.SEARCH_TRIALS),
        chosen=R(L.SEARCH_CHOSEN),
    params:
        base=lambda w: canonical(SEARCH_PLANS[w.model]["base"]),
        space=lambda w: describe_space(SEARCH_PLANS[w.model]["space"]),
        trials=lambda w: SEARCH_PLANS[w.model]["trials"],
        startup_trials=cfg("search", "startup_trials"),
        users=cfg("search", "users"),
        metric=cfg("evaluate", "primary_metric"),
        ks=cfg("evaluate", "ks"),
        module=lambda w: model_module(w.model),
        # Optuna's journal: not an output, so a killed job's trials survive and are resumed
        journal=lambda w: R(L.SEARCH_JOURNAL, entity=w.entity, model=w.model, seed=w.seed),
    log:
        LOG(f"{L.SEARCH_DIR}/search"),
    benchmark:
        BENCH(f"{L.SEARCH_DIR}/search")
    # searches gate the fits of their family: start them first
    priority: 3
    threads: model_threads
    resources:
        mem_mb=mem_by_input(6),
        runtime=lambda w, input: 10 * runtime_by_input(w, input),
    script:
        "../../scripts/search_model.py"


rule search_summary:
    input:
        trials=lambda w: search_files(w.entity, w.seed, L.SEARCH_TRIALS),
        chosen=lambda w: search_files(w.entity, w.seed, L.SEARCH_CHOSEN),
    output:
        table=report(
            R(L.SEARCH_SUMMARY),
            caption="../report/search_table.rst",
            category="Evaluation",
            subcategory="Validation search",
            labels={"entity": "{entity}", "seed": "{seed}", "table": "trials"},
        ),
        figure=report(
            R(L.SEARCH_FIGURE),
            caption="../report/search_figure.rst",
            category="Evaluation",
            subcategory="Validation search",
            labels={"entity": "{entity}", "seed": "{seed}", "figure": "search"},
        ),
    params:
        models=lambda w: searched_models(w.entity),
        metric=cfg("evaluate", "primary_metric"),
        plots=cfg("plots"),
    log:
        LOG(L.path(L.ENTITY_SEED_JOB, stage="search", job="summary")),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/search_summary.py"
