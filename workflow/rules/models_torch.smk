# Training curves (families with has_loss_curve; the fits themselves run in models.smk's generic
# fit_model rule) and the biased-MF latent-size sweep, drawn in one job per seed (each figure
# takes a fraction of a second; a job of its own costs more).
# Targets: models_torch_targets() in common.smk.


def _curve(entity, model, variant, fit):
    return report(
        R(L.LOSS_CURVE, entity=entity, model=model, variant=variant, fit=fit),
        caption="../report/models_loss_curve.rst",
        category="Models",
        subcategory="Training curves",
        labels={"entity": entity, "model": model, "variant": variant, "seed": "{seed}", "fit": fit},
    )


def _mf_sweep_file(template, entity, labels):
    return report(
        R(template, entity=entity),
        caption="../report/models_mf_sweep.rst",
        category="Models",
        subcategory="MF latent size",
        labels={"entity": entity, "seed": "{seed}"} | labels,
    )


def _mf_sweep(template, labels):
    # one file per entity, built by a helper: snakefmt reads a line that starts with a call of
    # the report function as the report: directive
    return [_mf_sweep_file(template, e, labels) for e in mf_entities()]


def _curve_histories():
    return [
        R(L.HISTORY, entity=e, model=m, variant=v, fit=fit)
        for e, m, v in curve_runs()
        for fit in ("full", "train")
    ]


def _mf_histories():
    return [
        R(L.HISTORY, entity=e, model="mf", variant=v, fit="train")
        for e in mf_entities()
        for _, v in mf_factor_variants()
    ]


if curve_runs():

    rule model_figures:
        input:
            histories=_curve_histories(),
            mf_histories=_mf_histories(),
        output:
            curves=[_curve(e, m, v, fit) for e, m, v in curve_runs() for fit in ("full", "train")],
            mf_figures=_mf_sweep(L.MF_SWEEP_FIGURE, {}),
            mf_tables=_mf_sweep(L.MF_SWEEP, {"table": "sweep"}),
        params:
            runs=[(e, m, v, fit) for e, m, v in curve_runs() for fit in ("full", "train")],
            mf_entities=mf_entities(),
            factors=[f for f, _ in mf_factor_variants()],
            plots=cfg("plots"),
        log:
            LOG(L.path(L.SEED_JOB, stage="models", job="figures")),
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../../scripts/models_figures.py"
