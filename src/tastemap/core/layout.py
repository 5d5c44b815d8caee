"""The results layout: every file a run writes, as one path template each, written once here.

Templates are relative to ``results/<dataset>/`` (``SIMULATED`` ones to the working directory)
and hold Snakemake-style wildcards: ``{entity}`` (artist | song: the matrix), ``{seed}``,
``{model}``/``{variant}`` (a recommender and its variant, e.g. ``als``/``f64``), ``{fit}``
(full | train | valid), ``{k}`` (LDA topic count), ``{method}`` (pca | umap | tsne),
``{side}`` (users | items: rows or columns of the matrix), ``{param}`` (a swept
hyper-parameter). The rules (``workflow/rules/*.smk``), the loader, the CLI and the tests take
their paths from here; ``docs/results.md`` lists exactly these files (a test checks it).

>>> path(MODEL, entity="artist", model="als", variant="f64", seed=0, fit="full")
'models/artist/als/f64/seed0/full/model.npz'
>>> path(MATRIX, entity="song")
'matrices/user_song.npz'
>>> path(RECOMMENDATIONS, fit="train")   # wildcards left out stay wildcards
'models/{entity}/{model}/{variant}/seed{seed}/train/recommendations.parquet'
>>> parse(MODEL, "models/song/mf/f8/seed3/valid/model.npz")["variant"]
'f8'
"""
from __future__ import annotations

import re

# ---- data/: ingest and prepare -------------------------------------------------------------
LISTENS = "data/listens.parquet"
REJECTED = "data/rejected.parquet"
INGEST_STATS = "data/ingest_stats.json"
#: split.scheme given: the part (train, validation, test) of every (user, item) pair of its files
GIVEN_SPLIT = "data/given_split.parquet"
INTERACTIONS = "data/interactions.parquet"
USERS = "data/users.parquet"
ARTISTS = "data/artists.parquet"
SONGS = "data/songs.parquet"
PREPARE_STATS = "data/prepare_stats.json"
#: the item table of an entity: ARTISTS or SONGS (an alias, not a file of its own)
ITEMS = "data/{entity}s.parquet"

# ---- matrices/ and split/ -------------------------------------------------------------------
MATRIX = "matrices/user_{entity}.npz"
MATRIX_STATS = "matrices/stats.json"
SPLIT_DIR = "split/seed{seed}"
TRAIN = f"{SPLIT_DIR}/train_{{entity}}.npz"
TEST = f"{SPLIT_DIR}/test_{{entity}}.npz"
VALID_TRAIN = f"{SPLIT_DIR}/valid/train_{{entity}}.npz"
VALID_TEST = f"{SPLIT_DIR}/valid/test_{{entity}}.npz"
#: split.held_out_users: the whole rows of the users no fit sees (validation and test users)
HELD_OUT_VALID = f"{SPLIT_DIR}/users/valid_{{entity}}.npz"
HELD_OUT_TEST = f"{SPLIT_DIR}/users/test_{{entity}}.npz"

# ---- explore/: maps and clusters ------------------------------------------------------------
SVD_DIR = "explore/{entity}/svd/seed{seed}/{side}"
SVD_MODEL = f"{SVD_DIR}/model.npz"
SVD_EMBEDDING = f"{SVD_DIR}/embedding.npy"
SVD_POINTS = f"{SVD_DIR}/points.npy"
SVD_CLUSTERS = f"{SVD_DIR}/clusters.parquet"
SVD_CLUSTER_METRICS = f"{SVD_DIR}/clusters_metrics.csv"
MAP_DIR = "explore/{entity}/{method}/seed{seed}/{side}"
MAP_COORDS = f"{MAP_DIR}/coords.parquet"
MAP_MODEL = f"{MAP_DIR}/model.npz"
MAP_CLUSTERS = f"{MAP_DIR}/clusters.parquet"
MAP_CLUSTER_METRICS = f"{MAP_DIR}/clusters_metrics.csv"
MAP_FIGURE = f"{MAP_DIR}/map.png"
MAP_HTML = f"{MAP_DIR}/map.html"
PLACED = "explore/{entity}/{method}/seed{seed}/users/placed.parquet"
PLACED_FIGURE = "explore/{entity}/{method}/seed{seed}/users/placed.png"
METHODS_FIGURE = "explore/{entity}/seed{seed}/{side}/methods.png"
EXPLORE_SUMMARY = "explore/seed{seed}/summary.csv"

# ---- topics/: LDA ---------------------------------------------------------------------------
TOPICS_DIR = "topics/lda/{entity}/k{k}/seed{seed}"
TOPICS_MODEL = f"{TOPICS_DIR}/model.npz"
USER_TOPICS = f"{TOPICS_DIR}/user_topics.parquet"
TOPIC_ITEMS = f"{TOPICS_DIR}/topic_items.parquet"
TOP_ITEMS = f"{TOPICS_DIR}/top_items.csv"
TOPICS_TABLE = f"{TOPICS_DIR}/topics.csv"
TOPICS_METRICS = f"{TOPICS_DIR}/metrics.json"
TOPICS_HELDOUT = f"{TOPICS_DIR}/heldout.json"
TOPICS_USERS_MAP = f"{TOPICS_DIR}/map.png"
TOPICS_ITEMS_MAP = f"{TOPICS_DIR}/items_map.png"
TOPICS_USERS_MAP_HTML = f"{TOPICS_DIR}/map.html"
TOPICS_ITEMS_MAP_HTML = f"{TOPICS_DIR}/items_map.html"
TOPICS_SWEEP = "topics/lda/{entity}/sweep.csv"
TOPICS_SWEEP_FIGURE = "topics/lda/{entity}/sweep.png"

# ---- models/: fitted recommenders -----------------------------------------------------------
#: one (entity, model, variant, seed): its fits are the folders full/, train/, valid/
MODEL_RUN = "models/{entity}/{model}/{variant}/seed{seed}"
FIT_DIR = f"{MODEL_RUN}/{{fit}}"
MODEL = f"{FIT_DIR}/model.npz"
RECOMMENDATIONS = f"{FIT_DIR}/recommendations.parquet"
SIMILAR = f"{FIT_DIR}/similar.parquet"
HISTORY = f"{FIT_DIR}/history.parquet"
LOSS_CURVE = f"{FIT_DIR}/loss.png"
NEW_USERS = f"{FIT_DIR}/new_users.parquet"
EXPLANATIONS = f"{FIT_DIR}/explanations.parquet"
USERS_EMBEDDING_MAP = f"{FIT_DIR}/map_users.png"
ITEMS_EMBEDDING_MAP = f"{FIT_DIR}/map_items.png"
USERS_EMBEDDING_MAP_HTML = f"{FIT_DIR}/map_users.html"
ITEMS_EMBEDDING_MAP_HTML = f"{FIT_DIR}/map_items.html"
#: the latent-size sweep of a family with ``has_factor_sweep`` (mf)
FACTOR_SWEEP = "models/{entity}/{model}/seed{seed}/sweep_factors.csv"
FACTOR_SWEEP_FIGURE = "models/{entity}/{model}/seed{seed}/sweep_factors.png"

# ---- search/: each family's validation search (tastemap.pipeline.search) ------------------------------
SEARCH_DIR = "search/{entity}/{model}/seed{seed}"
SEARCH_TRIALS = f"{SEARCH_DIR}/trials.parquet"
SEARCH_CHOSEN = f"{SEARCH_DIR}/chosen.json"
#: Optuna's journal of the trials (not a rule output: it survives a killed job, to resume)
SEARCH_JOURNAL = f"{SEARCH_DIR}/journal.log"
SEARCH_SUMMARY = "search/{entity}/seed{seed}/search.csv"
SEARCH_FIGURE = "search/{entity}/seed{seed}/search.png"

# ---- evaluate/: every model on the same split -----------------------------------------------
EVAL_DIR = "evaluate/{entity}/seed{seed}"
PER_USER = f"{EVAL_DIR}/per_user.parquet"
LEADERBOARD = f"{EVAL_DIR}/leaderboard.csv"
LEADERBOARD_MD = f"{EVAL_DIR}/leaderboard.md"
VALID_PER_USER = f"{EVAL_DIR}/valid/per_user.parquet"
VALID_LEADERBOARD = f"{EVAL_DIR}/valid/leaderboard.csv"
VALID_LEADERBOARD_MD = f"{EVAL_DIR}/valid/leaderboard.md"
SELECTED = f"{EVAL_DIR}/selected.csv"
SIGNIFICANCE = f"{EVAL_DIR}/significance.csv"
SIGNIFICANCE_FIGURE = f"{EVAL_DIR}/significance.png"
SWEEP_FIGURE = f"{EVAL_DIR}/sweep_{{param}}.png"
#: popularity bias of the test split's runs: per mainstreaminess group, and its figure
POPULARITY_GROUPS = f"{EVAL_DIR}/popularity_groups.csv"
POPULARITY_FIGURE = f"{EVAL_DIR}/popularity_bias.png"
#: held-out users (strong generalisation): fold-in scores of the train fits
NEW_DIR = f"{EVAL_DIR}/new_users"
NEW_PER_USER = f"{NEW_DIR}/per_user.parquet"
NEW_VALID_LEADERBOARD = f"{NEW_DIR}/valid_leaderboard.csv"
NEW_LEADERBOARD = f"{NEW_DIR}/leaderboard.csv"
NEW_LEADERBOARD_MD = f"{NEW_DIR}/leaderboard.md"
NEW_SELECTED = f"{NEW_DIR}/selected.csv"
NEW_SIGNIFICANCE = f"{NEW_DIR}/significance.csv"
LIKES_CURVE = f"{NEW_DIR}/likes_curve.csv"
LIKES_FIGURE = f"{NEW_DIR}/likes_curve.png"
SEEDS_LEADERBOARD = "evaluate/{entity}/leaderboard.csv"
SEEDS_LEADERBOARD_MD = "evaluate/{entity}/leaderboard.md"
#: evaluate.published: a published table beside the leaderboard across seeds
PUBLISHED = "evaluate/{entity}/published.csv"
PUBLISHED_MD = "evaluate/{entity}/published.md"

# ---- logs/ and benchmarks/: one per job, named after what the job makes ----------------------
LOGS = "logs"
BENCHMARKS = "benchmarks"
#: the name of a job that covers one seed of a stage (its log: logs/<stage>/seed<seed>/<job>.log)
SEED_JOB = "{stage}/seed{seed}/{job}"
#: a job that covers one (entity, seed) of a stage (logs/<stage>/<entity>/seed<seed>/<job>.log)
ENTITY_SEED_JOB = "{stage}/{entity}/seed{seed}/{job}"

# ---- outside results/: the simulated input (relative to the working directory) ---------------
SIMULATED_LISTENS = "resources/synthetic/{dataset}/listens.tsv"
SIMULATED_TRUTH = "resources/synthetic/{dataset}/truth.parquet"
SIMULATED_LOG = "resources/synthetic/{dataset}/simulate.log"
SIMULATED_BENCHMARK = "resources/synthetic/{dataset}/simulate.benchmark.tsv"

_WILDCARD = re.compile(r"\{(\w+)\}")


def templates() -> dict[str, str]:
    """Every file template of ``results/<dataset>/``: ``{NAME: template}`` (directories,
    logs/benchmarks and the SIMULATED inputs left out).

    >>> templates()["MATRIX"]
    'matrices/user_{entity}.npz'
    >>> "FIT_DIR" in templates() or "LOGS" in templates() or "ITEMS" in templates()
    False
    """
    return {name: value for name, value in globals().items()
            if name.isupper() and isinstance(value, str) and "." in value.rsplit("/", 1)[-1]
            and not name.startswith("SIMULATED") and name != "ITEMS"}


def path(template: str, **wildcards) -> str:
    """``template`` with the given wildcards filled in; wildcards not given stay ``{name}``.

    >>> path(TOPICS_MODEL, entity="artist", k=8, seed=1)
    'topics/lda/artist/k8/seed1/model.npz'
    """
    return _WILDCARD.sub(
        lambda m: str(wildcards[m.group(1)]) if m.group(1) in wildcards else m.group(0), template)


def glob(template: str, **wildcards) -> str:
    """A glob pattern of ``template``: given wildcards filled in, the others ``*``.

    >>> glob(MODEL, fit="full")
    'models/*/*/*/seed*/full/model.npz'
    """
    return _WILDCARD.sub("*", path(template, **wildcards))


def parse(template: str, relpath: str) -> dict[str, str] | None:
    """The wildcard values of a path made from ``template`` (``None`` if it does not match);
    a wildcard matches one path component (no ``/``).

    >>> parse(MAP_CLUSTER_METRICS, "explore/artist/umap/seed0/users/clusters_metrics.csv")
    {'entity': 'artist', 'method': 'umap', 'seed': '0', 'side': 'users'}
    >>> parse(MAP_CLUSTER_METRICS, "explore/artist/seed0/users/methods.png") is None
    True
    """
    pattern, pos, seen = "", 0, set()
    for m in _WILDCARD.finditer(template):
        name = m.group(1)
        pattern += re.escape(template[pos:m.start()])
        pattern += f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+)"
        seen.add(name)
        pos = m.end()
    found = re.fullmatch(pattern + re.escape(template[pos:]), str(relpath))
    return found.groupdict() if found else None


def fit_matrix(fit: str, **wildcards) -> str:
    """The matrix a fit learns from: :data:`MATRIX` (full), :data:`TRAIN` (train) or
    :data:`VALID_TRAIN` (valid), wildcards filled in as by :func:`path`.

    >>> fit_matrix("valid", entity="artist", seed=2)
    'split/seed2/valid/train_artist.npz'
    """
    return path({"full": MATRIX, "train": TRAIN, "valid": VALID_TRAIN}[fit], **wildcards)


def log(job: str) -> str:
    """The log file of a job named ``job`` (a path-like name built from the templates above).

    >>> log(path(MODEL_RUN, entity="artist", model="als", variant="f64", seed=0) + "/fit")
    'logs/models/artist/als/f64/seed0/fit.log'
    """
    return f"{LOGS}/{job}.log"


def benchmark(job: str) -> str:
    """The ``benchmark:`` table of a job named ``job`` (see :func:`log`).

    >>> benchmark("ingest")
    'benchmarks/ingest.tsv'
    """
    return f"{BENCHMARKS}/{job}.tsv"
