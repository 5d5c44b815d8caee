# Shared helpers: the config check, path helpers, per-stage target lists, wildcard constraints.
# Rules never embed Python beyond building lists of targets; everything here is that.
import os

from tastemap.config import canonical, load_schema, resolve

# Every config rule lives in tastemap.config (schema, cross-key rules, sizes, metrics): a wrong
# config stops here, before any job, with one line per key. The workflow then runs on the complete
# config (--config strings converted, the schema's defaults filled in) with every mapping's keys
# sorted: Snakemake compares params by repr(), so key order must not rerun jobs.
_full_config = resolve(
    config, load_schema(os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"))
)
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
    variant=r"[A-Za-z0-9._-]+",


def R(path):
    """Path of an output under results/<dataset>/."""
    return f"results/{DATASET}/{path}"


def LOG(path):
    return f"results/{DATASET}/logs/{path}"


def BENCH(path):
    return f"results/{DATASET}/benchmarks/{path}"


def cfg(*keys):
    """One config value, looked up by key path: params get only the values they use. Mappings
    come with their keys sorted, recursively (a copy), so that params do not depend on key order."""
    node = config
    for key in keys:
        node = node[key]
    return canonical(node)


def ingest_format():
    """The raw format ingest reads; simulate writes one of the Last.fm layouts."""
    if config["input"]["format"] == "simulate":
        return config["simulate"]["layout"]
    return config["input"]["format"]


def raw_input_path():
    if config["input"]["format"] == "simulate":
        return f"resources/synthetic/{DATASET}/listens.tsv"
    return config["input"]["path"]


# ---- target lists, one function per stage ----------------------------------------------


def data_targets():
    return [
        R("data/listens.parquet"),
        R("data/rejected.parquet"),
        R("data/interactions.parquet"),
        R("data/users.parquet"),
        R("data/artists.parquet"),
        R("data/songs.parquet"),
        R("matrices/stats.json"),
    ] + [R(f"matrices/user_{e}.npz") for e in ENTITIES]


def split_targets():
    return [R(f"split/seed{s}/test_{e}.npz") for s in SEEDS for e in ENTITIES]


def topics_targets():
    """LDA per (entity, k, seed): tables, maps; one sweep table + figure per entity over k."""
    if not config["topics"]["enabled"]:
        return []
    runs = [
        R(f"topics/lda/{e}/k{k}/seed{s}/{name}")
        for e in ENTITIES
        for k in config["topics"]["k"]
        for s in SEEDS
        for name in ("top_items.csv", "map.png", "items_map.png")
    ]
    return runs + [R(f"topics/lda/{e}/sweep.{ext}") for e in ENTITIES for ext in ("csv", "png")]


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
                for m in ex["methods"]:
                    d = R(f"explore/{e}/{m}/seed{s}/{side}")
                    out += [f"{d}/coords.parquet", f"{d}/clusters.parquet", f"{d}/map.png"]
                out += [R(f"explore/{e}/svd/seed{s}/{side}/clusters.parquet"),
                        R(f"explore/{e}/seed{s}/{side}/methods.png")]
            if ex["place_users"]["listens"] and "users" in ex["sides"]:
                out += [R(f"explore/{e}/{m}/seed{s}/users/placed.png")
                        for m in ex["place_users"]["methods"] if m in ex["methods"]]
        out.append(R(f"explore/seed{s}/summary.csv"))
    return out


def all_targets():
    return (data_targets() + split_targets() + models_targets() + evaluate_targets()
            + topics_targets() + explore_targets() + models_torch_targets())


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
    """name -> class, name -> {variant: params} and name -> swept keys of the enabled models."""
    classes, variants, sweeps = {}, {}, {}
    for name, section in _registry.config_models(config["models"]).items():
        if not _registry.enabled(section):
            continue
        try:
            classes[name] = _registry.get(name, section.get("module"))
            variants[name] = _registry.variants(name, section)
            sweeps[name] = _registry.swept_keys(name, section)
        except (ValueError, KeyError, ImportError) as err:
            raise ConfigError(str(err).strip("'\"")) from None
    return classes, variants, sweeps


#: enabled model -> its class (declarations: folds_in, has_factors, has_loss_curve, ...)
FAMILIES, MODEL_VARIANTS, MODEL_SWEEPS = _model_tables()
#: models whose fits get new_users.parquet (models.new_users), loss.png, the evaluation's RMSE,
#: explanations.parquet
NEW_USER_MODELS = {n for n, c in FAMILIES.items() if c.folds_in}
LOSS_CURVE_MODELS = {n for n, c in FAMILIES.items() if c.has_loss_curve}
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


def model_params(name, variant):
    """Hyper-parameters of one variant (no bookkeeping keys, no lists)."""
    if variant not in MODEL_VARIANTS[name]:
        raise ValueError(f"models.{name}: no variant {variant!r} (variants: "
                         f"{', '.join(MODEL_VARIANTS[name])})")
    return MODEL_VARIANTS[name][variant]


def model_dir(entity, model, variant, seed, fit):
    return R(f"models/{entity}/{model}/{variant}/seed{seed}/{fit}")


def fit_matrix(entity, seed, fit):
    """The matrix a fit learns from: full matrix, the split's train, or validation train."""
    return {
        "full": R(f"matrices/user_{entity}.npz"),
        "train": R(f"split/seed{seed}/train_{entity}.npz"),
        "valid": R(f"split/seed{seed}/valid/train_{entity}.npz"),
    }[fit]


# ---- evaluate: targets and sweep helpers ---------------------------------------------------


def sweep_grid(entity, param):
    """{model: {variant: {swept key: value}}} of the enabled models on ``entity`` that sweep
    ``param`` over several values (one line each in sweep_<param>.png)."""
    models = {m for _, m, _ in model_runs(entity) if param in MODEL_SWEEPS[m]}
    return {m: {v: {k: p[k] for k in MODEL_SWEEPS[m]} for v, p in MODEL_VARIANTS[m].items()}
            for m in FAMILIES if m in models}


def evaluate_targets():
    """Per entity and seed: per-user metrics, leaderboard (csv + md), significance (csv + png),
    one sweep figure per swept hyper-parameter, and with a validation split the selected
    variants; per entity: the leaderboard across seeds. Nothing without an enabled model."""
    out = []
    for e in ENTITIES:
        if not model_runs(e):
            continue
        params = sorted({k for _, m, _ in model_runs(e) for k in MODEL_SWEEPS[m]})
        for s in SEEDS:
            files = ["per_user.parquet", "leaderboard.csv", "leaderboard.md", "significance.csv",
                     "significance.png"] + [f"sweep_{p}.png" for p in params]
            if config["split"]["validation"]:
                files += ["selected.csv", "valid/leaderboard.csv"]
            out += [R(f"evaluate/{e}/seed{s}/{f}") for f in files]
        out += [R(f"evaluate/{e}/leaderboard.csv"), R(f"evaluate/{e}/leaderboard.md")]
    return out


# ---- models stage targets -----------------------------------------------------------------


def models_targets():
    """Full and train fits of every enabled run; new listeners (artist entity, when profiles
    are configured), explanations and embedding maps (models.maps.models) of full fits."""
    files = ["model.npz", "recommendations.parquet", "similar.parquet", "history.parquet"]
    out = []
    for seed in SEEDS:
        for entity, model, variant in model_runs():
            full = model_dir(entity, model, variant, seed, "full")
            for fit in ("full", "train"):
                out += [f"{model_dir(entity, model, variant, seed, fit)}/{f}" for f in files
                        if fit == "full" or f != "similar.parquet"]
            if config["models"]["new_users"] and entity == "artist" and model in NEW_USER_MODELS:
                out.append(f"{full}/new_users.parquet")
            if model in EXPLAIN_MODELS and config["models"]["explain"]["users"] > 0:
                out.append(f"{full}/explanations.parquet")
            if model in MAP_MODELS:
                out += [f"{full}/map_users.png", f"{full}/map_items.png"]
    return out


# ---- training curves and the MF latent-size sweep (workflow/rules/models_torch.smk) ----------


def mf_factor_variants():
    """(factors, variant) of the MF variants in the latent-size sweep: those that differ from
    the first variant in `factors` only (other swept keys at their first value)."""
    if "mf" not in FAMILIES:
        return []
    variants = MODEL_VARIANTS["mf"]
    first = next(iter(variants.values()))
    others = [k for k in MODEL_SWEEPS["mf"] if k != "factors"]
    return [(p["factors"], v) for v, p in variants.items()
            if all(p[k] == first[k] for k in others)]


def models_torch_targets():
    """loss.png of the full and train fit of every enabled run whose family has a loss curve;
    per entity and seed with mf enabled, the validation RMSE of the train fits against the
    latent size."""
    out = []
    for seed in SEEDS:
        for entity, model, variant in model_runs():
            if model in LOSS_CURVE_MODELS:
                out += [f"{model_dir(entity, model, variant, seed, fit)}/loss.png"
                        for fit in ("full", "train")]
        out += [R(f"models/{e}/mf/seed{seed}/sweep_factors.png") for e in ENTITIES
                if any(r[0] == e and r[1] == "mf" for r in model_runs())]
    return out
