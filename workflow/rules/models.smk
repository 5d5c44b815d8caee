# Models stage: one generic fit rule for every registered recommender, plus per-model extras
# (new listeners, explanations, embedding maps) for the families that declare them (folds_in,
# explains, has_factors). Targets: models_targets() in common.smk.

MODEL_OUT = "models/{entity}/{model}/{variant}/seed{seed}/{fit}"


def _model_n(w):
    """Recommendations per user: top_n for what people read (full fits), max(evaluate.ks) for
    the fits the evaluation scores (train, valid)."""
    return cfg("models", "top_n") if w.fit == "full" else max(cfg("evaluate", "ks"))


rule fit_model:
    input:
        matrix=lambda w: fit_matrix(w.entity, w.seed, w.fit),
        users=R("data/users.parquet"),
        catalogue=R("data/{entity}s.parquet"),
    output:
        model=R(f"{MODEL_OUT}/model.npz"),
        recommendations=R(f"{MODEL_OUT}/recommendations.parquet"),
        similar=R(f"{MODEL_OUT}/similar.parquet"),
        history=R(f"{MODEL_OUT}/history.parquet"),
    wildcard_constraints:
        fit="full",
    params:
        model=lambda w: model_params(w.model, w.variant),
        module=lambda w: model_module(w.model),
        n=_model_n,
        similar_n=cfg("models", "similar_n"),
    log:
        LOG(f"{MODEL_OUT}/fit.log"),
    benchmark:
        BENCH(f"{MODEL_OUT}/fit.tsv")
    threads: 2
    resources:
        mem_mb=lambda w, input: max(2000, int(60 * input.size_mb)),
        runtime=lambda w, input: max(20, int(input.size_mb)),
    script:
        "../../scripts/fit_model.py"


# Fits on a split (train, valid) serve the evaluation, which reads their recommendations: no
# similar items (for a factor model, all items x all items - 1.5 min at Last.fm-360K size).
use rule fit_model as fit_model_split with:
    output:
        model=R(f"{MODEL_OUT}/model.npz"),
        recommendations=R(f"{MODEL_OUT}/recommendations.parquet"),
        history=R(f"{MODEL_OUT}/history.parquet"),
    wildcard_constraints:
        fit=r"train|valid",


rule model_new_users:
    input:
        model=R("models/{entity}/{model}/{variant}/seed{seed}/full/model.npz"),
        matrix=R("matrices/user_{entity}.npz"),
        catalogue=R("data/{entity}s.parquet"),
    output:
        R("models/{entity}/{model}/{variant}/seed{seed}/full/new_users.parquet"),
    params:
        profiles=cfg("models", "new_users"),
        n=cfg("models", "top_n"),
        module=lambda w: model_module(w.model),
    log:
        LOG("models/{entity}/{model}/{variant}/seed{seed}/full/new_users.log"),
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(10 * input.size_mb)),
        runtime=10,
    script:
        "../../scripts/models_new_users.py"


rule model_explanations:
    input:
        model=R("models/{entity}/{model}/{variant}/seed{seed}/full/model.npz"),
        recommendations=R("models/{entity}/{model}/{variant}/seed{seed}/full/recommendations.parquet"),
        matrix=R("matrices/user_{entity}.npz"),
        catalogue=R("data/{entity}s.parquet"),
    output:
        R("models/{entity}/{model}/{variant}/seed{seed}/full/explanations.parquet"),
    params:
        n_users=cfg("models", "explain", "users"),
        n=cfg("models", "explain", "n"),
        module=lambda w: model_module(w.model),
    log:
        LOG("models/{entity}/{model}/{variant}/seed{seed}/full/explanations.log"),
    threads: 1
    resources:
        mem_mb=lambda w, input: max(2000, int(10 * input.size_mb)),
        runtime=20,
    script:
        "../../scripts/models_explain.py"


rule model_map:
    input:
        model=R("models/{entity}/{model}/{variant}/seed{seed}/full/model.npz"),
        users=R("data/users.parquet"),
        catalogue=R("data/{entity}s.parquet"),
        # colourings of the interactive maps (functions of explore.smk, included later)
        truth=lambda w: explore_truth(w),
        topics=lambda w: topic_tables(w),
    output:
        user_map=report(R("models/{entity}/{model}/{variant}/seed{seed}/full/map_users.png"),
                        caption="../report/models_map.rst", category="Models",
                        subcategory="Embedding maps",
                        labels={"entity": "{entity}", "model": "{model}", "variant": "{variant}",
                                "seed": "{seed}", "figure": "users"}),
        item_map=report(R("models/{entity}/{model}/{variant}/seed{seed}/full/map_items.png"),
                        caption="../report/models_map.rst", category="Models",
                        subcategory="Embedding maps",
                        labels={"entity": "{entity}", "model": "{model}", "variant": "{variant}",
                                "seed": "{seed}", "figure": "items"}),
        user_html=report(R("models/{entity}/{model}/{variant}/seed{seed}/full/map_users.html"),
                         caption="../report/models_map_html.rst", category="Models",
                         subcategory="Embedding maps",
                         labels={"entity": "{entity}", "model": "{model}", "variant": "{variant}",
                                 "seed": "{seed}", "figure": "users (interactive)"}),
        item_html=report(R("models/{entity}/{model}/{variant}/seed{seed}/full/map_items.html"),
                         caption="../report/models_map_html.rst", category="Models",
                         subcategory="Embedding maps",
                         labels={"entity": "{entity}", "model": "{model}", "variant": "{variant}",
                                 "seed": "{seed}", "figure": "items (interactive)"}),
    params:
        module=lambda w: model_module(w.model),
        max_points=cfg("models", "maps", "max_points"),
        n_neighbors=cfg("models", "maps", "n_neighbors"),
        min_dist=cfg("models", "maps", "min_dist"),
        plots=cfg("plots"),
    log:
        LOG("models/{entity}/{model}/{variant}/seed{seed}/full/map.log"),
    benchmark:
        BENCH("models/{entity}/{model}/{variant}/seed{seed}/full/map.tsv")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../../scripts/models_map.py"
