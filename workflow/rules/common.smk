# Shared helpers: the config check, path helpers, per-stage target lists, wildcard constraints.
# Rules never embed Python beyond building lists of targets; everything here is that.
import os

from tastemap.config import ConfigError, canonical, load_schema, resolve

from tastemap.core import layout as L

# Every config check lives in tastemap.config (schema, cross-key rules, sizes, metrics): a wrong
# config stops here, before any job, with one line per key. The workflow then runs on the complete
# config (--config strings converted, the schema's defaults filled in) with every mapping's keys
# sorted: Snakemake compares params by repr(), so key order must not rerun jobs.
# The model sections as the user wrote them (before the schema's defaults): a list there is an
# explicit sweep or a pinned value, and that family is not searched (tastemap.pipeline.search).
_LISTED = {
    name: dict(section)
    for name, section in (config.get("models") or {}).items()
    if isinstance(section, dict)
}
_full_config = resolve(config, load_schema())
config.clear()
config.update(_full_config)

# implicit asks for single-threaded BLAS (its own threads would fight OpenBLAS/MKL threads);
# numba (UMAP, pynndescent) caches its compiled code across processes instead of ~20 s per job.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault(
    "NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "tastemap", "numba")
)

DATASET = config["dataset"]
SEEDS = config["seeds"]
ENTITIES = config["entities"]


wildcard_constraints:
    seed=r"\d+",
    entity=r"artist|song",
    method=r"pca|umap|tsne",
    k=r"\d+",
    fit=r"train|full|valid",
    model=r"[a-z0-9]+",
    variant=r"[A-Za-z0-9._-]+",  # multi-key sweep variants: f64_r0.01, lr1e-05


def R(template, **wildcards):
    """Path under results/<dataset>/ of a tastemap.core.layout template (some wildcards filled in)."""
    return f"results/{DATASET}/{L.path(template, **wildcards)}"


def LOG(job):
    """Log of the job named ``job`` (a path-like name built from layout templates)."""
    return R(L.log(job))


def BENCH(job):
    return R(L.benchmark(job))


def SIM(template):
    """The simulated input (outside results/), see tastemap.core.layout.SIMULATED_*."""
    return L.path(template, dataset=DATASET)


def cfg(*keys):
    """One config value, looked up by key path: params get only the values they use. Mappings
    come with their keys sorted, recursively (a copy), so that params do not depend on key order."""
    node = config
    for key in keys:
        node = node[key]
    return canonical(node)


def raw_input_mb():
    """Size of the raw input in MB: the file, or for simulated data an estimate from the config
    (about 220 bytes a listening line). Known before any job runs, unlike input.size_mb."""
    if config["split"]["scheme"] == "given":  # the split's files
        given = config["split"]["given"]
        paths = [given[k] for k in ("train", "validation", "test") if given[k]]
        paths = [p for p in paths if os.path.exists(p)]
        return sum(os.path.getsize(p) for p in paths) / 1e6 if paths else float("inf")
    if config["input"]["format"] == "simulate":
        return config["simulate"]["n_users"] * config["simulate"]["plays_per_user"] * 220 / 1e6
    path = config["input"]["path"]
    return os.path.getsize(path) / 1e6 if path and os.path.exists(path) else float("inf")


def threads_for(big, above_mb=500):
    """``big`` threads for a dataset whose raw input exceeds ``above_mb`` MB, else one: on small
    data a job is mostly imports and single-threaded steps, and a second core runs another job
    (the default simulated log is ~70 MB, MovieLens 100K 2 MB, Last.fm-360K 1.6 GB)."""
    return big if raw_input_mb() > above_mb else 1


def model_threads(w):
    """Threads of a fit or search job of family ``w.model``: ``threads_for(2)``, or one for a
    family whose fit runs on one core (its class's ``multithreaded``)."""
    return threads_for(2) if FAMILIES[w.model].multithreaded else 1


def given_split():
    """split.scheme given: ingest reads the split's files instead of input.path."""
    return config["split"]["scheme"] == "given"


def held_out_users():
    """split.held_out_users: users set aside for the strong-generalisation evaluation."""
    return config["split"]["held_out_users"]["fraction"] > 0


def ingest_format():
    """The raw format ingest reads; simulate writes one of the Last.fm layouts."""
    if given_split():
        return "given"
    if config["input"]["format"] == "simulate":
        return config["simulate"]["layout"]
    return config["input"]["format"]


def raw_input_path():
    if given_split():
        files = config["split"]["given"]
        return [files[part] for part in ("train", "validation", "test") if files[part]]
    if config["input"]["format"] == "simulate":
        return SIM(L.SIMULATED_LISTENS)
    return config["input"]["path"]


def simulated_truth():
    """Planted genres (optional input): only simulated data has them."""
    return [SIM(L.SIMULATED_TRUTH)] if config["input"]["format"] == "simulate" else []


# ---- target lists, one function per stage ----------------------------------------------


def data_targets():
    return [
        R(t)
        for t in (
            L.LISTENS,
            L.REJECTED,
            L.INTERACTIONS,
            L.USERS,
            L.ARTISTS,
            L.SONGS,
            L.MATRIX_STATS,
        )
    ] + [R(L.MATRIX, entity=e) for e in ENTITIES]


def split_targets():
    return [R(L.TEST, seed=s, entity=e) for s in SEEDS for e in ENTITIES]


def topics_targets():
    """LDA per (entity, k, seed): tables, maps; one sweep table + figure per entity over k."""
    if not config["topics"]["enabled"]:
        return []
    runs = [
        R(t, entity=e, k=k, seed=s)
        for e in ENTITIES
        for k in config["topics"]["k"]
        for s in SEEDS
        for t in (L.TOP_ITEMS, L.TOPICS_USERS_MAP, L.TOPICS_ITEMS_MAP)
    ]
    return runs + [
        R(t, entity=e) for e in ENTITIES for t in (L.TOPICS_SWEEP, L.TOPICS_SWEEP_FIGURE)
    ]


def placed_methods():
    """The users maps new users are placed into (explore.place_users), [] when off."""
    ex = config["explore"]
    if not ex["place_users"]["listens"] or "users" not in ex["sides"]:
        return []
    return [m for m in ex["place_users"]["methods"] if m in ex["methods"]]


def explore_targets():
    """Maps, clusters and figures of every (entity, side, method, seed); summary per seed;
    new users placed into the users maps when explore.place_users.listens is set."""
    ex = config["explore"]
    if not ex["enabled"]:
        return []
    out = []
    for s in SEEDS:
        for e in ENTITIES:
            for side in ex["sides"]:
                w = dict(entity=e, seed=s, side=side)
                out += [
                    R(t, method=m, **w)
                    for m in ex["methods"]
                    for t in (L.MAP_COORDS, L.MAP_CLUSTERS, L.MAP_FIGURE, L.MAP_HTML)
                ]
                out += [R(L.SVD_CLUSTERS, **w), R(L.METHODS_FIGURE, **w)]
            out += [R(L.PLACED_FIGURE, entity=e, method=m, seed=s) for m in placed_methods()]
        out.append(R(L.EXPLORE_SUMMARY, seed=s))
    return out


def all_targets():
    return (
        data_targets()
        + split_targets()
        + models_targets()
        + evaluate_targets()
        + search_targets()
        + topics_targets()
        + explore_targets()
        + models_torch_targets()
    )


# ---- models: which (entity, model, variant) runs the config asks for ----------------------
# Every model table comes from the model classes' own declarations, read through the light
# registry (tastemap.models.registry: no torch, implicit or scikit-learn import). A model's
# section models.<name> has `enabled`, `entities`, `module` (only for a family outside
# tastemap, see docs/adding_a_model.md) and hyper-parameters. Any key of the family's
# `sweep_prefixes` may hold a list: the variants are the product of the lists, each named from
# its values ({variant} = f32_r0.01 for factors: [32, ...], regularization: [0.01, ...]);
# without a list the one variant is "default".
from tastemap.models import registry as _registry


def _model_tables():
    """name -> class, name -> {variant: params}, name -> swept keys of the enabled models, and
    name -> search plan (registry.search_plan) of the searched ones, whose one variant is
    ``tuned`` (its params: the fixed values; the searched ones come from chosen.json)."""
    classes, variants, sweeps, plans = {}, {}, {}, {}
    for name, section in _registry.config_models(config["models"]).items():
        if not _registry.enabled(section):
            continue
        try:
            classes[name] = _registry.get(name, section.get("module"))
            plan = _registry.search_plan(name, section, config["search"], _LISTED.get(name))
            if plan is None:
                variants[name] = _registry.variants(name, section)
                sweeps[name] = _registry.swept_keys(name, section)
            else:
                plans[name] = plan
                variants[name] = {_registry.TUNED: plan["base"]}
                if config["search"]["keep_configured"]:  # the section's own values beside
                    variants[name] = {**_registry.variants(name, section), **variants[name]}
                sweeps[name] = []
        except (ValueError, KeyError, ImportError) as err:
            raise ConfigError(str(err).strip("'\"")) from None
    return classes, variants, sweeps, plans


#: enabled model -> its class (declarations: folds_in, has_factors, has_loss_curve, ...)
FAMILIES, MODEL_VARIANTS, MODEL_SWEEPS, SEARCH_PLANS = _model_tables()
#: models whose fits get new_users.parquet (models.new_users), loss.png, a latent-size sweep
#: (sweep_factors.png), the evaluation's RMSE, explanations.parquet
NEW_USER_MODELS = {n for n, c in FAMILIES.items() if c.folds_in}
LOSS_CURVE_MODELS = {n for n, c in FAMILIES.items() if c.has_loss_curve}
FACTOR_SWEEP_MODELS = {n for n, c in FAMILIES.items() if c.has_factor_sweep}
RMSE_MODELS = {n for n, c in FAMILIES.items() if c.predicts_ratings}
EXPLAIN_MODELS = {n for n, c in FAMILIES.items() if c.explains}


def _map_models():
    """models.maps.models that are enabled and have factors to map."""
    for name in config["models"]["maps"]["models"]:
        if name in FAMILIES and not FAMILIES[name].has_factors:
            raise ConfigError(f"models.maps.models: {name} has no user/item factors to map")
    return {name for name in config["models"]["maps"]["models"] if name in FAMILIES}


MAP_MODELS = _map_models()


def model_variants(name):
    return list(MODEL_VARIANTS[name])


def model_module(name):
    """models.<name>.module (a family outside tastemap) or None."""
    return config["models"][name].get("module")


def model_runs(entity=None):
    """(entity, model, variant) of every enabled model, in config order."""
    runs = []
    for name in FAMILIES:
        for e in config["models"][name].get("entities", ENTITIES):
            if e in ENTITIES and (entity is None or e == entity):
                runs.extend((e, name, v) for v in model_variants(name))
    return runs


def searched_models(entity):
    """The searched families (search_plan) among the enabled runs of ``entity``, in run order."""
    return list(dict.fromkeys(m for _, m, _ in model_runs(entity) if m in SEARCH_PLANS))


def configured_values(entity):
    """model -> variant -> the values of its searchable keys, for the runs of ``entity`` that are
    not the search's (shown beside their leaderboard rows)."""
    out = {}
    for _, m, v in model_runs(entity):
        if v != _registry.TUNED:
            keys = list(FAMILIES[m].search_space) or list(FAMILIES[m].sweep_prefixes)
            params = MODEL_VARIANTS[m][v]
            out.setdefault(m, {})[v] = {k: params[k] for k in keys if k in params}
    return canonical(out)


def search_files(entity, seed, template):
    """``template`` (SEARCH_TRIALS or SEARCH_CHOSEN) of every searched family of ``entity``."""
    return [R(template, entity=entity, model=m, seed=seed) for m in searched_models(entity)]


def chosen_input(w):
    """The chosen values a fit of the ``tuned`` variant reads ([] for any other run)."""
    if w.model in SEARCH_PLANS and w.variant == _registry.TUNED:
        return [R(L.SEARCH_CHOSEN, entity=w.entity, model=w.model, seed=w.seed)]
    return []


def search_targets():
    """Per entity and seed with a searched family: the trials table and figure of the search."""
    return [
        R(t, entity=e, seed=s)
        for e in ENTITIES
        if searched_models(e)
        for s in SEEDS
        for t in (L.SEARCH_SUMMARY, L.SEARCH_FIGURE)
    ]


def model_params(name, variant):
    """Hyper-parameters of one variant (no bookkeeping keys, no lists)."""
    if variant not in MODEL_VARIANTS[name]:
        raise ValueError(
            f"models.{name}: no variant {variant!r} (variants: "
            f"{', '.join(MODEL_VARIANTS[name])})"
        )
    return MODEL_VARIANTS[name][variant]


def fit_kinds():
    """The fits ``fit_model`` makes in one job for every run: the full matrix and the split's
    train part. The validation fit is its own job (``fit_model_valid``), for validated models."""
    return ["full", "train"]


def mem_by_input(factor, base=2000, extra=1000):
    """``mem_mb`` of a job from its input size: ``factor`` MB per input MB plus ``extra``, at least
    ``base``; twice on a retry (the SLURM profile's ``retries: 1``). Factors come from the
    benchmark files of the MSD-sized run (docs/cluster.md)."""
    return lambda w, input, attempt: attempt * max(base, int(factor * input.size_mb) + extra)


def runtime_by_input(w, input):
    """``runtime`` (minutes) of a job from its input size: a generous limit, not an estimate."""
    return max(30, int(input.size_mb / 10))


def validated(model):
    """Whether ``model``'s variant is chosen on the validation split: with a validation split,
    for a model with more than one variant. A single variant has nothing to choose from, so its
    validation fit would only cost time (a quarter of the default run's fit time)."""
    return bool(config["split"]["validation"]) and len(model_variants(model)) > 1


def fit_matrix(entity, seed, fit):
    """The matrix a fit learns from: full matrix, the split's train, or validation train."""
    return R(L.fit_matrix(fit, entity=entity, seed=seed))


# ---- evaluate: targets and sweep helpers ---------------------------------------------------


def sweep_grid(entity, param):
    """{model: {variant: {swept key: value}}} of the enabled models on ``entity`` that sweep
    ``param`` over several values (one line each in sweep_<param>.png)."""
    models = {m for _, m, _ in model_runs(entity) if param in MODEL_SWEEPS[m]}
    return {
        m: {v: {k: p[k] for k in MODEL_SWEEPS[m]} for v, p in MODEL_VARIANTS[m].items()}
        for m in FAMILIES
        if m in models
    }


def sweep_params(entity):
    """The swept hyper-parameters of ``entity`` (a key with several values in some model's grid):
    one sweep figure each."""
    return sorted({k for _, m, _ in model_runs(entity) for k in MODEL_SWEEPS[m]})


def evaluated_entities():
    """Entities with at least one enabled model (the others have no evaluation)."""
    return [e for e in ENTITIES if model_runs(e)]


def evaluate_targets():
    """Per entity and seed: per-user metrics, leaderboard (csv + md), significance (csv + png),
    popularity bias (csv + png), one sweep figure per swept hyper-parameter, with a validation
    split the selected variants, with held-out users their leaderboard and likes curve; per
    entity: the leaderboard across seeds. Nothing without an enabled model."""
    out = []
    for e in evaluated_entities():
        files = [L.PER_USER, L.LEADERBOARD, L.LEADERBOARD_MD, L.SIGNIFICANCE, L.SIGNIFICANCE_FIGURE]
        files += [L.POPULARITY_GROUPS, L.POPULARITY_FIGURE]
        if config["split"]["validation"]:
            files += [L.SELECTED, L.VALID_LEADERBOARD]
        if held_out_users() and any(m in NEW_USER_MODELS for _, m, _ in model_runs(e)):
            files += [L.NEW_LEADERBOARD, L.NEW_LEADERBOARD_MD, L.LIKES_CURVE, L.LIKES_FIGURE]
        out += [R(f, entity=e, seed=s) for s in SEEDS for f in files]
        out += [
            R(L.SWEEP_FIGURE, entity=e, seed=s, param=p) for s in SEEDS for p in sweep_params(e)
        ]
        out += [R(L.SEEDS_LEADERBOARD, entity=e), R(L.SEEDS_LEADERBOARD_MD, entity=e)]
        if cfg("evaluate", "published", "table"):
            out += [R(L.PUBLISHED, entity=e), R(L.PUBLISHED_MD, entity=e)]
    return out


# ---- models stage targets -----------------------------------------------------------------


def models_targets():
    """Full and train fits of every enabled run; new listeners (artist entity, when profiles
    are configured), explanations and embedding maps (models.maps.models) of full fits."""
    out = []
    for seed in SEEDS:
        for entity, model, variant in model_runs():
            w = dict(entity=entity, model=model, variant=variant, seed=seed)
            out += [
                R(t, fit=fit, **w)
                for fit in ("full", "train")
                for t in (L.MODEL, L.RECOMMENDATIONS, L.HISTORY)
            ]
            out.append(R(L.SIMILAR, fit="full", **w))
            if config["models"]["new_users"] and entity == "artist" and model in NEW_USER_MODELS:
                out.append(R(L.NEW_USERS, fit="full", **w))
            if model in EXPLAIN_MODELS and config["models"]["explain"]["users"] > 0:
                out.append(R(L.EXPLANATIONS, fit="full", **w))
            if model in MAP_MODELS:
                out += [
                    R(L.USERS_EMBEDDING_MAP, fit="full", **w),
                    R(L.ITEMS_EMBEDDING_MAP, fit="full", **w),
                ]
    return out


# ---- training curves and the latent-size sweeps (workflow/rules/models_torch.smk) -----------


def factor_sweep_variants(model):
    """(factors, variant) of the variants of ``model`` in its latent-size sweep (a family with
    ``has_factor_sweep``): those that differ from the first variant in `factors` only (other
    swept keys at their first value). None when the family is searched: its search figure shows
    what the factors do (search_summary)."""
    if model not in FACTOR_SWEEP_MODELS or model in SEARCH_PLANS:
        return []
    variants = MODEL_VARIANTS[model]
    first = next(iter(variants.values()))
    others = [k for k in MODEL_SWEEPS[model] if k != "factors"]
    return [(p["factors"], v) for v, p in variants.items() if all(p[k] == first[k] for k in others)]


def curve_runs():
    """(entity, model, variant) of every enabled run whose family records a training curve."""
    return [(e, m, v) for e, m, v in model_runs() if m in LOSS_CURVE_MODELS]


def factor_sweeps():
    """(entity, model, [(factors, variant), ...]) of every latent-size sweep: each entity's
    enabled families with ``has_factor_sweep`` that are not searched (factor_sweep_variants)."""
    return [
        (e, m, factor_sweep_variants(m))
        for e in ENTITIES
        for m in dict.fromkeys(run[1] for run in model_runs(e))
        if factor_sweep_variants(m)
    ]


def models_torch_targets():
    """loss.png of the full and train fit of every enabled run whose family has a loss curve;
    per entity and seed, the train (and validation) RMSE of the train fits against the latent
    size of every latent-size sweep (factor_sweeps)."""
    out = []
    for seed in SEEDS:
        out += [
            R(L.LOSS_CURVE, entity=e, model=m, variant=v, seed=seed, fit=fit)
            for e, m, v in curve_runs()
            for fit in ("full", "train")
        ]
        out += [
            R(L.FACTOR_SWEEP_FIGURE, entity=e, model=m, seed=seed) for e, m, _ in factor_sweeps()
        ]
    return out
