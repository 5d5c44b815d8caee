# Shared helpers: config validation, path helpers, per-stage target lists, wildcard constraints.
# Rules never embed Python beyond building lists of targets; everything here is that.
import os

import yaml
from snakemake.utils import validate

from tastemap import layout as L
from tastemap.configcheck import coerce_strings, config_errors


class ConfigError(ValueError):
    """A wrong config value; the message names the key."""


def _validate_config():
    """Stop before any job with one line per wrong key, then fill in the schema's defaults."""
    schema_path = os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml")
    with open(schema_path) as fh:
        schema = yaml.safe_load(fh)
    coerce_strings(config, schema)  # --config nests values as strings: seeds=[1,2] -> ['1', '2']
    errors = config_errors(config, schema)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    validate(config, schema="../schemas/config.schema.yaml", set_default=True)


_validate_config()

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
TRACKLESS_FORMATS = {"lastfm-360k", "hetrec-2k"}


wildcard_constraints:
    seed=r"\d+",
    entity=r"artist|song",
    method=r"pca|umap|tsne",
    k=r"\d+",
    fit=r"train|full|valid",
    model=r"[a-z0-9]+",
    variant=r"[A-Za-z0-9._]+",  # multi-key sweep variants: f64_r0.01


def _check_config():
    """What the schema cannot express: cross-key rules and files that must exist."""
    fmt = config["input"]["format"]
    trackless = (
        fmt in TRACKLESS_FORMATS
        or (fmt == "simulate" and config["simulate"]["layout"] == "lastfm-360k")
        or (fmt == "msd-triplets" and not config["input"]["tracks_path"])
    )
    if trackless and "song" in ENTITIES:
        raise ConfigError(
            f"entities: 'song' needs track names, which input.format={fmt!r}"
            + (" (simulate.layout=lastfm-360k)" if fmt == "simulate" else "")
            + " does not have; set entities: [artist]"
        )
    if fmt != "simulate":
        path = config["input"]["path"]
        if not path:
            raise ConfigError(f"input.path: required for input.format={fmt!r}")
        if not os.path.exists(path) and not config["input"]["download"]["url"]:  # else download.smk makes it
            raise ConfigError(f"input.path: file not found: {path}")
        tracks = config["input"]["tracks_path"]
        if tracks and not os.path.exists(tracks):
            raise ConfigError(f"input.tracks_path: file not found: {tracks}")


_check_config()


def _check_sizes_against_simulation():
    """With simulated data the artist catalogue size is known before any job: refuse model
    sizes and topic counts it cannot support now, naming the key (for real data the fit job
    refuses them, see tastemap.models.run.check_sizes)."""
    if config["input"]["format"] != "simulate" or "artist" not in ENTITIES:
        return
    n_artists = config["simulate"]["n_artists"]
    for name, section in config["models"].items():
        if not isinstance(section, dict) or not section.get("enabled", False):
            continue
        for key in ("factors", "k", "neighbours"):
            values = section.get(key)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, int) and value >= n_artists:
                    raise ConfigError(f"models.{name}.{key}: {value} is not smaller than the "
                                      f"catalogue (simulate.n_artists = {n_artists})")
    for value in config["topics"].get("k", []):
        if value >= n_artists:
            raise ConfigError(f"topics.k: {value} is not smaller than the catalogue "
                              f"(simulate.n_artists = {n_artists})")


_check_sizes_against_simulation()


def R(template, **wildcards):
    """Path under results/<dataset>/ of a tastemap.layout template (some wildcards filled in)."""
    return f"results/{DATASET}/{L.path(template, **wildcards)}"


def LOG(job):
    """Log of the job named ``job`` (a path-like name built from layout templates)."""
    return R(L.log(job))


def BENCH(job):
    return R(L.benchmark(job))


def SIM(template):
    """The simulated input (outside results/), see tastemap.layout.SIMULATED_*."""
    return L.path(template, dataset=DATASET)


def cfg(*keys):
    """One config value, looked up by key path: params get only the values they use."""
    node = config
    for key in keys:
        node = node[key]
    return node


def raw_input_mb():
    """Size of the raw input in MB: the file, or for simulated data an estimate from the config
    (about 220 bytes a listening line). Known before any job runs, unlike input.size_mb."""
    if config["input"]["format"] == "simulate":
        return config["simulate"]["n_users"] * config["simulate"]["plays_per_user"] * 220 / 1e6
    path = config["input"]["path"]
    return os.path.getsize(path) / 1e6 if path and os.path.exists(path) else float("inf")


def threads_for(big, above_mb=500):
    """``big`` threads for a dataset whose raw input exceeds ``above_mb`` MB, else one: on small
    data a job is mostly imports and single-threaded steps, and a second core runs another job
    (the default simulated log is ~70 MB, MovieLens 100K 2 MB, Last.fm-360K 1.6 GB)."""
    return big if raw_input_mb() > above_mb else 1


def ingest_format():
    """The raw format ingest reads; simulate writes one of the Last.fm layouts."""
    if config["input"]["format"] == "simulate":
        return config["simulate"]["layout"]
    return config["input"]["format"]


def raw_input_path():
    if config["input"]["format"] == "simulate":
        return SIM(L.SIMULATED_LISTENS)
    return config["input"]["path"]


def simulated_truth():
    """Planted genres (optional input): only simulated data has them."""
    return [SIM(L.SIMULATED_TRUTH)] if config["input"]["format"] == "simulate" else []


# ---- target lists, one function per stage ----------------------------------------------


def data_targets():
    return [R(t) for t in (L.LISTENS, L.REJECTED, L.INTERACTIONS, L.USERS, L.ARTISTS, L.SONGS,
                           L.MATRIX_STATS)] + [R(L.MATRIX, entity=e) for e in ENTITIES]


def split_targets():
    return [R(L.TEST, seed=s, entity=e) for s in SEEDS for e in ENTITIES]


def topics_targets():
    """LDA per (entity, k, seed): tables, maps; one sweep table + figure per entity over k."""
    if not config["topics"]["enabled"]:
        return []
    runs = [R(t, entity=e, k=k, seed=s) for e in ENTITIES for k in config["topics"]["k"]
            for s in SEEDS for t in (L.TOP_ITEMS, L.TOPICS_USERS_MAP, L.TOPICS_ITEMS_MAP)]
    return runs + [R(t, entity=e) for e in ENTITIES for t in (L.TOPICS_SWEEP, L.TOPICS_SWEEP_FIGURE)]


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
                out += [R(t, method=m, **w) for m in ex["methods"]
                        for t in (L.MAP_COORDS, L.MAP_CLUSTERS, L.MAP_FIGURE)]
                out += [R(L.SVD_CLUSTERS, **w), R(L.METHODS_FIGURE, **w)]
            out += [R(L.PLACED_FIGURE, entity=e, method=m, seed=s) for m in placed_methods()]
        out.append(R(L.EXPLORE_SUMMARY, seed=s))
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


def fit_kinds():
    """The fits of every run: the full matrix, the split's train part, and with a validation
    split its train part (``fit_model`` makes them all in one job)."""
    return ["full", "train"] + (["valid"] if config["split"]["validation"] else [])


def fit_matrix(entity, seed, fit):
    """The matrix a fit learns from: full matrix, the split's train, or validation train."""
    return {"full": R(L.MATRIX, entity=entity), "train": R(L.TRAIN, entity=entity, seed=seed),
            "valid": R(L.VALID_TRAIN, entity=entity, seed=seed)}[fit]


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


def sweep_params(entity):
    """The swept hyper-parameters of ``entity`` with a sweep figure (more than one value)."""
    params = sorted({MODEL_SWEEPS[m][0] for _, m, _ in model_runs(entity) if m in MODEL_SWEEPS})
    return [p for p in params if sweep_models(entity, p)]


def evaluated_entities():
    """Entities with at least one enabled model (the others have no evaluation)."""
    return [e for e in ENTITIES if model_runs(e)]


def evaluate_targets():
    """Per entity and seed: per-user metrics, leaderboard (csv + md), significance (csv + png),
    one sweep figure per swept hyper-parameter, and with a validation split the selected
    variants; per entity: the leaderboard across seeds. Nothing without an enabled model."""
    out = []
    for e in evaluated_entities():
        files = [L.PER_USER, L.LEADERBOARD, L.LEADERBOARD_MD, L.SIGNIFICANCE, L.SIGNIFICANCE_FIGURE]
        if config["split"]["validation"]:
            files += [L.SELECTED, L.VALID_LEADERBOARD]
        out += [R(f, entity=e, seed=s) for s in SEEDS for f in files]
        out += [R(L.SWEEP_FIGURE, entity=e, seed=s, param=p) for s in SEEDS for p in sweep_params(e)]
        out += [R(L.SEEDS_LEADERBOARD, entity=e), R(L.SEEDS_LEADERBOARD_MD, entity=e)]
    return out


# ---- models stage targets -----------------------------------------------------------------
#: models whose fitted object can score new listeners (models.new_users) and has factors to map
NEW_USER_MODELS = {"als", "bpr", "itemknn", "userknn", "popularity", "ease"}


def models_targets():
    """Full and train fits of every enabled run; new listeners (artist entity, when profiles
    are configured), ALS explanations and embedding maps (models.maps.models) of full fits."""
    maps = set(config["models"]["maps"]["models"])
    out = []
    for seed in SEEDS:
        for entity, model, variant in model_runs():
            w = dict(entity=entity, model=model, variant=variant, seed=seed)
            out += [R(t, fit=fit, **w) for fit in ("full", "train")
                    for t in (L.MODEL, L.RECOMMENDATIONS, L.HISTORY)]
            out.append(R(L.SIMILAR, fit="full", **w))
            if config["models"]["new_users"] and entity == "artist" and model in NEW_USER_MODELS:
                out.append(R(L.NEW_USERS, fit="full", **w))
            if model == "als" and config["models"]["explain"]["users"] > 0:
                out.append(R(L.EXPLANATIONS, fit="full", **w))
            if model in maps:
                out += [R(L.USERS_EMBEDDING_MAP, fit="full", **w),
                        R(L.ITEMS_EMBEDDING_MAP, fit="full", **w)]
    return out


# ---- torch models: loss curves and the MF latent-size sweep (workflow/rules/models_torch.smk) --
TORCH_MODELS = ("mf", "item2vec", "sgns", "twotower")


def torch_runs():
    """(entity, model, variant) of every enabled torch run."""
    return [(e, m, v) for e, m, v in model_runs() if m in TORCH_MODELS]


def mf_entities():
    return [e for e in ENTITIES if any(r[0] == e and r[1] == "mf" for r in model_runs())]


def models_torch_targets():
    """loss.png of the full and train fit of every enabled torch run; per entity and seed with
    mf enabled, the validation RMSE of the train fits against the latent size."""
    out = []
    for seed in SEEDS:
        out += [R(L.LOSS_CURVE, entity=e, model=m, variant=v, seed=seed, fit=fit)
                for e, m, v in torch_runs() for fit in ("full", "train")]
        out += [R(L.MF_SWEEP_FIGURE, entity=e, seed=seed) for e in mf_entities()]
    return out
