# Models stage: one generic fit rule for every registered recommender, plus per-model extras
# (new listeners, explanations, embedding maps) for the families that declare them (folds_in,
# explains, has_factors). Targets: models_targets() in common.smk.
#
# One fit_model job per (entity, model, variant, seed) makes its full, train and (with a
# validation split) valid fits one after the other: the imports (torch, implicit, scikit-learn)
# are paid once instead of three times, and a new variant or seed still runs only its own job.


def _fit_files():
    """Named outputs of fit_model: <fit>_<kind> for every fit; similar items come from the full
    fit only (a factor model's all items x all items takes 1.5 min at Last.fm-360K size and the
    evaluation does not read them)."""
    kinds = {"model": L.MODEL, "recommendations": L.RECOMMENDATIONS, "history": L.HISTORY}
    out = {f"{fit}_{kind}": R(t, fit=fit) for fit in fit_kinds() for kind, t in kinds.items()}
    out["full_similar"] = R(L.SIMILAR, fit="full")
    return out


rule fit_model:
    input:
        matrices=lambda w: [fit_matrix(w.entity, w.seed, fit) for fit in fit_kinds()],
        # a searched family's chosen values (tastemap.pipeline.search); none for other runs
        chosen=chosen_input,
        users=R(L.USERS),
        catalogue=R(L.ITEMS),
    output:
        **_fit_files(),
    params:
        model=lambda w: model_params(w.model, w.variant),
        module=lambda w: model_module(w.model),
        fits=fit_kinds(),
        # recommendations per user: top_n for what people read (full fits), max(evaluate.ks)
        # for the fits the evaluation scores (train; valid in fit_model_valid)
        n={"full": cfg("models", "top_n"), "train": max(cfg("evaluate", "ks"))},
        similar_n=cfg("models", "similar_n"),
    log:
        LOG(f"{L.MODEL_RUN}/fit"),
    benchmark:
        BENCH(f"{L.MODEL_RUN}/fit")
    # fits -> evaluation is the longest chain of a run: start it before the maps (priority 1)
    # fill the cores, and the maps before the 1-s jobs (priority 0)
    priority: 2
    threads: model_threads
    resources:
        # measured: 2.0-4.0 GiB for ALS, item-kNN and popularity on the MSD-shaped matrices
        # (688 MB of input), 1.2-1.8 GiB at Last.fm-360K size; twice on a retry (a dense model
        # such as EASE needs about n_items^2 x 8 bytes more: raise it with --set-resources)
        mem_mb=mem_by_input(6),
        runtime=runtime_by_input,
    script:
        "../../scripts/fit_model.py"


rule fit_model_valid:
    input:
        matrices=lambda w: [fit_matrix(w.entity, w.seed, "valid")],
        users=R(L.USERS),
        catalogue=R(L.ITEMS),
        # the tuned variant is fit at its chosen values here too (search.keep_configured
        # puts it beside the configured one, chosen between on validation)
        chosen=chosen_input,
    output:
        valid_model=R(L.MODEL, fit="valid"),
        valid_recommendations=R(L.RECOMMENDATIONS, fit="valid"),
        valid_history=R(L.HISTORY, fit="valid"),
    params:
        model=lambda w: model_params(w.model, w.variant),
        module=lambda w: model_module(w.model),
        fits=["valid"],
        n={"valid": max(cfg("evaluate", "ks"))},
        similar_n=cfg("models", "similar_n"),
    log:
        LOG(f"{L.MODEL_RUN}/fit_valid"),
    benchmark:
        BENCH(f"{L.MODEL_RUN}/fit_valid")
    priority: 2
    threads: model_threads
    resources:
        mem_mb=mem_by_input(6),
        runtime=runtime_by_input,
    script:
        "../../scripts/fit_model.py"


FULL = dict(fit="full")


rule model_new_users:
    input:
        model=R(L.MODEL, **FULL),
        matrix=R(L.MATRIX),
        catalogue=R(L.ITEMS),
    output:
        R(L.NEW_USERS, **FULL),
    params:
        profiles=cfg("models", "new_users"),
        n=cfg("models", "top_n"),
        module=lambda w: model_module(w.model),
    log:
        LOG(f"{L.MODEL_RUN}/new_users"),
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(10 * input.size_mb)),
        runtime=10,
    script:
        "../../scripts/model_new_users.py"


rule model_explanations:
    input:
        model=R(L.MODEL, **FULL),
        recommendations=R(L.RECOMMENDATIONS, **FULL),
        matrix=R(L.MATRIX),
        catalogue=R(L.ITEMS),
    output:
        R(L.EXPLANATIONS, **FULL),
    params:
        n_users=cfg("models", "explain", "users"),
        n=cfg("models", "explain", "n"),
        module=lambda w: model_module(w.model),
    log:
        LOG(f"{L.MODEL_RUN}/explanations"),
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(10 * input.size_mb)),
        runtime=20,
    script:
        "../../scripts/model_explanations.py"


MAP_LABELS = {"entity": "{entity}", "model": "{model}", "variant": "{variant}", "seed": "{seed}"}


rule model_map:
    input:
        model=R(L.MODEL, **FULL),
        users=R(L.USERS),
        catalogue=R(L.ITEMS),
        # colouring of the interactive maps: planted genres (simulated data)
        truth=simulated_truth(),
    output:
        user_map=report(
            R(L.USERS_EMBEDDING_MAP, **FULL),
            caption="../report/models_map.rst",
            category="Models",
            subcategory="Embedding maps",
            labels=MAP_LABELS | {"figure": "users"},
        ),
        item_map=report(
            R(L.ITEMS_EMBEDDING_MAP, **FULL),
            caption="../report/models_map.rst",
            category="Models",
            subcategory="Embedding maps",
            labels=MAP_LABELS | {"figure": "items"},
        ),
        user_html=report(
            R(L.USERS_EMBEDDING_MAP_HTML, **FULL),
            caption="../report/models_map_html.rst",
            category="Models",
            subcategory="Embedding maps",
            labels=MAP_LABELS | {"figure": "users (interactive)"},
        ),
        item_html=report(
            R(L.ITEMS_EMBEDDING_MAP_HTML, **FULL),
            caption="../report/models_map_html.rst",
            category="Models",
            subcategory="Embedding maps",
            labels=MAP_LABELS | {"figure": "items (interactive)"},
        ),
    params:
        module=lambda w: model_module(w.model),
        max_points=cfg("models", "maps", "max_points"),
        n_neighbors=cfg("models", "maps", "n_neighbors"),
        min_dist=cfg("models", "maps", "min_dist"),
        plots=cfg("plots"),
    log:
        LOG(f"{L.MODEL_RUN}/map"),
    benchmark:
        BENCH(f"{L.MODEL_RUN}/map")
    # a 10-s job: with the maps of explore.smk and topics.smk, before the 1-s jobs, so that
    # these fill the end of a run (docs/benchmarks.md)
    priority: 1
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../../scripts/model_map.py"
