# Training curves (families with has_loss_curve; the fits themselves run in models.smk's generic
# fit_model rule) and the biased-MF latent-size sweep.
# Targets: models_torch_targets() in common.smk.


rule model_loss_curve:
    input:
        history=R("models/{entity}/{model}/{variant}/seed{seed}/{fit}/history.parquet"),
    output:
        report(
            R("models/{entity}/{model}/{variant}/seed{seed}/{fit}/loss.png"),
            caption="../report/models_loss_curve.rst",
            category="Models",
            subcategory="Training curves",
            labels={"entity": "{entity}", "model": "{model}", "variant": "{variant}",
                    "seed": "{seed}", "fit": "{fit}"},
        ),
    params:
        plots=cfg("plots"),
    log:
        LOG("models/{entity}/{model}/{variant}/seed{seed}/{fit}/loss_curve.log"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/models_loss_curve.py"


rule mf_factor_sweep:
    input:
        histories=lambda w: [
            f"{model_dir(w.entity, 'mf', v, w.seed, 'train')}/history.parquet"
            for _, v in mf_factor_variants()
        ],
    output:
        figure=report(
            R("models/{entity}/mf/seed{seed}/sweep_factors.png"),
            caption="../report/models_mf_sweep.rst",
            category="Models",
            subcategory="MF latent size",
            labels={"entity": "{entity}", "seed": "{seed}"},
        ),
        table=report(R("models/{entity}/mf/seed{seed}/sweep_factors.csv"),
                     caption="../report/models_mf_sweep.rst", category="Models",
                     subcategory="MF latent size",
                     labels={"entity": "{entity}", "seed": "{seed}", "table": "sweep"}),
    params:
        factors=[f for f, _ in mf_factor_variants()],
        plots=cfg("plots"),
    log:
        LOG("models/{entity}/mf/seed{seed}/sweep_factors.log"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/models_mf_sweep.py"
