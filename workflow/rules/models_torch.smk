# Training curves (families with has_loss_curve; the fits themselves run in models.smk's generic
# fit_model rule) and the latent-size sweeps (families with has_factor_sweep), drawn in one job
# per seed (each figure takes a fraction of a second; a job of its own costs more).
# Targets: models_torch_targets() in common.smk.


def _curve(entity, model, variant, fit):
    return report(
        R(L.LOSS_CURVE, entity=entity, model=model, variant=variant, fit=fit),
        caption="../report/models_loss_curve.rst",
        category="Models",
        subcategory="Training curves",
        labels={"entity": entity, "model": model, "variant": variant, "seed": "{seed}", "fit": fit},
    )


def _sweep_file(template, entity, model, labels):
    return report(
        R(template, entity=entity, model=model),
        caption="../report/models_mf_sweep.rst",
        category="Models",
        subcategory="Latent size",
        labels={"entity": entity, "model": model, "seed": "{seed}"} | labels,
    )


def _factor_sweep(template, labels):
    # one file per (entity, model), built by a helper: snakefmt reads a line that starts with a
    # call of the report function as the report: directive
    return [_sweep_file(template, e, m, labels) for e, m, _ in factor_sweeps()]


def _curve_histories():
    return [
        R(L.HISTORY, entity=e, model=m, variant=v, fit=fit)
        for e, m, v in curve_runs()
        for fit in ("full", "train")
    ]


def _sweep_histories():
    return [
        R(L.HISTORY, entity=e, model=m, variant=v, fit="train")
        for e, m, variants in factor_sweeps()
        for _, v in variants
    ]


if curve_runs() or factor_sweeps():

    rule model_figures:
        input:
            histories=_curve_histories(),
            sweep_histories=_sweep_histories(),
        output:
            curves=[_curve(e, m, v, fit) for e, m, v in curve_runs() for fit in ("full", "train")],
            sweep_figures=_factor_sweep(L.FACTOR_SWEEP_FIGURE, {}),
            sweep_tables=_factor_sweep(L.FACTOR_SWEEP, {"table": "sweep"}),
        params:
            runs=[(e, m, v, fit) for e, m, v in curve_runs() for fit in ("full", "train")],
            # (entity, model, latent sizes) of each sweep, in the order of sweep_histories
            sweeps=[(e, m, [f for f, _ in variants]) for e, m, variants in factor_sweeps()],
            plots=cfg("plots"),
        log:
            LOG(L.path(L.SEED_JOB, stage="models", job="figures")),
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../../scripts/model_figures.py"
