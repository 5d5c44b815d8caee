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
    variant=r"[A-Za-z0-9.]+",


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
# A model's config section (models.<name>) has `enabled`, `entities` and scalar
# hyper-parameters; at most one hyper-parameter is swept: it holds a list, and each value becomes
# one {variant} = <prefix><value> (e.g. factors: [32, 64] -> f32, f64). Models without a sweep
# have the single variant "default". Register the swept key of each model here.
MODEL_SWEEPS = {
    # name: (swept key in models.<name>, variant prefix)
    # -- classic families (models stage) --
    "als": ("factors", "f"),
    "bpr": ("factors", "f"),
    "itemknn": ("neighbours", "k"),
    "userknn": ("neighbours", "k"),
    "ease": ("l2", "l"),
    # -- topics stage: LDA as a recommender, one variant per topic count (k8, k16, ...) --
    "lda": ("k", "k"),
    # -- PyTorch families (torch models): one variant per latent size --
    "mf": ("factors", "f"),
    "item2vec": ("factors", "f"),
    "sgns": ("factors", "f"),
    "twotower": ("factors", "f"),
}


def model_variants(name):
    key, prefix = MODEL_SWEEPS.get(name, (None, None))
    if key is None:
        return ["default"]
    return [f"{prefix}{value}" for value in config["models"][name][key]]


def model_runs(entity=None):
    """(entity, model, variant) of every enabled model, in config order."""
    runs = []
    for name, section in config["models"].items():
        if not isinstance(section, dict) or not section.get("enabled", False):
            continue
        for e in section.get("entities", ENTITIES):
            if e in ENTITIES and (entity is None or e == entity):
                runs.extend((e, name, v) for v in model_variants(name))
    return runs


def model_params(name, variant):
    """Hyper-parameters of one variant: the model's section minus bookkeeping keys, with the
    swept key set to the value parsed from the variant name."""
    section = {
        k: v for k, v in config["models"][name].items() if k not in ("enabled", "entities")
    }
    key, prefix = MODEL_SWEEPS.get(name, (None, None))
    if key is not None:
        if not variant.startswith(prefix):
            raise ValueError(f"variant {variant!r} of model {name!r} must start with {prefix!r}")
        values = {f"{prefix}{value}": value for value in section[key]}
        if variant not in values:
            raise ValueError(f"models.{name}.{key}: no value gives variant {variant!r}")
        section[key] = values[variant]
    return section


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


def sweep_models(entity, param):
    """{model: variant prefix} of the enabled models on ``entity`` whose swept key is ``param``
    and that have more than one variant (one line each in sweep_<param>.png)."""
    out = {}
    for e, name, _ in model_runs(entity):
        key, prefix = MODEL_SWEEPS.get(name, (None, None))
        if key == param and len(model_variants(name)) > 1:
            out[name] = prefix
    return out


def evaluate_targets():
    """Per entity and seed: per-user metrics, leaderboard (csv + md), significance (csv + png),
    one sweep figure per swept hyper-parameter, and with a validation split the selected
    variants; per entity: the leaderboard across seeds. Nothing without an enabled model."""
    out = []
    for e in ENTITIES:
        if not model_runs(e):
            continue
        params = sorted({MODEL_SWEEPS[m][0] for _, m, _ in model_runs(e) if m in MODEL_SWEEPS})
        params = [p for p in params if sweep_models(e, p)]
        for s in SEEDS:
            files = ["per_user.parquet", "leaderboard.csv", "leaderboard.md", "significance.csv",
                     "significance.png"] + [f"sweep_{p}.png" for p in params]
            if config["split"]["validation"]:
                files += ["selected.csv", "valid/leaderboard.csv"]
            out += [R(f"evaluate/{e}/seed{s}/{f}") for f in files]
        out += [R(f"evaluate/{e}/leaderboard.csv"), R(f"evaluate/{e}/leaderboard.md")]
    return out


# ---- models stage targets -----------------------------------------------------------------
#: models whose fitted object can score new listeners (models.new_users) and has factors to map
NEW_USER_MODELS = {"als", "bpr", "itemknn", "userknn", "popularity", "ease"}


def models_targets():
    """Full and train fits of every enabled run; new listeners (artist entity, when profiles
    are configured), ALS explanations and embedding maps (models.maps.models) of full fits."""
    files = ["model.joblib", "recommendations.parquet", "similar.parquet", "history.parquet"]
    maps = set(config["models"]["maps"]["models"])
    out = []
    for seed in SEEDS:
        for entity, model, variant in model_runs():
            full = model_dir(entity, model, variant, seed, "full")
            for fit in ("full", "train"):
                out += [f"{model_dir(entity, model, variant, seed, fit)}/{f}" for f in files
                        if fit == "full" or f != "similar.parquet"]
            if config["models"]["new_users"] and entity == "artist" and model in NEW_USER_MODELS:
                out.append(f"{full}/new_users.parquet")
            if model == "als" and config["models"]["explain"]["users"] > 0:
                out.append(f"{full}/explanations.parquet")
            if model in maps:
                out += [f"{full}/map_users.png", f"{full}/map_items.png"]
    return out


# ---- torch models: loss curves and the MF latent-size sweep (workflow/rules/models_torch.smk) --
TORCH_MODELS = ("mf", "item2vec", "sgns", "twotower")


def models_torch_targets():
    """loss.png of the full and train fit of every enabled torch run; per entity and seed with
    mf enabled, the validation RMSE of the train fits against the latent size."""
    out = []
    for seed in SEEDS:
        for entity, model, variant in model_runs():
            if model in TORCH_MODELS:
                out += [f"{model_dir(entity, model, variant, seed, fit)}/loss.png"
                        for fit in ("full", "train")]
        out += [R(f"models/{e}/mf/seed{seed}/sweep_factors.png") for e in ENTITIES
                if any(r[0] == e and r[1] == "mf" for r in model_runs())]
    return out
