"""Referee benchmark: peer libraries' recommenders on tastemap's own splits.

Fits the Cornac and LensKit versions of the recommender families tastemap also ships (implicit
ALS, BPR, EASE, item-kNN, user-kNN, popularity) on the split files the workflow writes, tunes
each peer model with the same budget for every family, and scores them with tastemap's own
metrics, so that the peers' numbers sit beside the workflow's leaderboards. The peers are never
dependencies of the workflow: they live in a separate virtual environment.

Protocol, per seed ``S`` of ``--split-dir/seed{S}`` and entity ``E``:

1. Search: an Optuna study (``TPESampler(seed=S)``, ``--trials`` trials per model, in memory)
   fits each trial's values on ``valid/train_E.npz``, ranks the top 10 unplayed items of every
   user and maximises the mean ``ndcg@10`` on ``valid/test_E.npz``. Models with no
   hyper-parameter (popularity) are fitted once.
2. Refit the chosen values on ``train_E.npz`` (timed: fit seconds, then top-10 seconds for every
   user with a training row) and score ``test_E.npz``.

Scoring is ``tastemap.evaluate.metrics.evaluate_recommendations`` only (``ks = [10]``), which also
raises if a recommended item is one of the user's training items: each library excludes them
with its own API (Cornac ``recommend(remove_seen=True)``, LensKit's default candidate selector
with the user's training history). Confidence intervals: ``tastemap.evaluate.stats.bootstrap_ci`` (1,000
user resamples, seed 0) on per-user ``ndcg@10``, per seed and, for the multi-seed row, on each
user's ``ndcg@10`` averaged over the seeds.

Every user and every item of the split (its full matrix shape) is in the library's vocabulary,
so items with no training play are candidates too. Interactions: binary for every model except
LensKit ``ImplicitMFScorer``, which gets the play counts as its ``rating`` field and searches its
own ``use_ratings`` switch (counts as confidence or not). Cornac's kNN must get binary values:
with non-constant values it treats the data as explicit ratings and mean-centres them.

Install the peers (never in the workflow's environment)::

    python3.11 -m venv /work/peers/venv
    /work/peers/venv/bin/pip install cornac==3.0.1 lenskit==2025.8.1 optuna==5.1.0 \\
        numpy scipy pandas pyarrow
    /work/peers/venv/bin/pip install --no-deps -e .     # tastemap itself, without its deps

Run (one thread; ``nice`` on a shared machine)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 \\
    /work/peers/venv/bin/python benchmarks/peers.py \\
        --split-dir /work/data/ml100k/results/ml-100k/split --entity artist --seeds 0 1 2 \\
        --trials 20 --out /work/peers/ml100k.md --json /work/peers/ml100k.json

``--libraries`` and ``--families`` restrict the run. Cornac's implicit MF (``WMF``) needs
TensorFlow and is left out; its only other MF models are explicit-rating models.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.evaluate import metrics, stats

K = 10
PRIMARY = f"ndcg@{K}"
RECALL = f"recall@{K}"
FAMILIES = ("als", "bpr", "ease", "itemknn", "userknn", "pop")
LIBRARIES = ("cornac", "lenskit")

Params = dict[str, Any]
log = logging.getLogger("peers")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Split:
    """One train/test pair of users x items CSR matrices (float32 play counts)."""

    train: sp.csr_matrix
    test: sp.csr_matrix

    @property
    def users(self) -> np.ndarray:
        """Users with at least one training item: the users every model ranks items for."""
        return np.flatnonzero(np.diff(self.train.indptr))


def load_split(directory: Path, entity: str) -> Split:
    """The ``train_<entity>.npz`` / ``test_<entity>.npz`` pair of ``directory``."""
    train = sp.load_npz(directory / f"train_{entity}.npz").tocsr().astype(np.float32)
    test = sp.load_npz(directory / f"test_{entity}.npz").tocsr().astype(np.float32)
    if train.shape != test.shape:
        raise ValueError(f"{directory}: train {train.shape} and test {test.shape} differ")
    return Split(train, test)


def binary(m: sp.csr_matrix) -> sp.csr_matrix:
    """Copy of ``m`` with every stored value set to 1."""
    b = sp.csr_matrix(m, dtype=np.float32, copy=True)
    b.eliminate_zeros()
    b.data[:] = 1.0
    return b


# --------------------------------------------------------------------------- adapters


@dataclass(frozen=True)
class Adapter:
    """One (library, model): search space, fit and top-k ranking behind one interface.

    ``space(trial)`` draws the values of a trial (``{}`` for a model with none);
    ``fit(train, params, seed)`` returns the fitted library object;
    ``recommend(obj, users, train, k)`` returns ``(len(users), k)`` item ids, best first, ``-1``
    padded; the library itself must leave out each user's training items.
    """

    library: str
    family: str
    model: str
    space: Callable[[Any], Params]
    fit: Callable[[sp.csr_matrix, Params, int], Any]
    recommend: Callable[[Any, np.ndarray, sp.csr_matrix, int], np.ndarray]

    @property
    def name(self) -> str:
        return f"{self.library}/{self.family}"


def no_params(trial: Any) -> Params:
    return {}


def pad_rows(rows: Sequence[Sequence[int]], k: int) -> np.ndarray:
    """Stack ranked id lists into a ``(n, k)`` int64 matrix padded with ``-1``."""
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        ids = np.asarray(row, dtype=np.int64)[:k]
        out[i, : len(ids)] = ids
    return out


# Cornac ---------------------------------------------------------------------


def cornac_dataset(train: sp.csr_matrix, seed: int) -> Any:
    """A Cornac ``Dataset`` of the binary interactions whose internal ids equal tastemap's."""
    from cornac.data import Dataset

    coo = binary(train).tocoo()
    users = OrderedDict((u, u) for u in range(train.shape[0]))
    items = OrderedDict((i, i) for i in range(train.shape[1]))
    triples = list(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    return Dataset.build(triples, fmt="UIR", global_uid_map=users, global_iid_map=items, seed=seed)


def cornac_fit(
    factory: Callable[[Params, int], Any],
) -> Callable[[sp.csr_matrix, Params, int], Any]:
    def fit(train: sp.csr_matrix, params: Params, seed: int) -> Any:
        return factory(params, seed).fit(cornac_dataset(train, seed))

    return fit


def cornac_recommend(model: Any, users: np.ndarray, train: sp.csr_matrix, k: int) -> np.ndarray:
    """Cornac's own ``recommend`` with ``remove_seen=True`` against the training set."""
    rows = [
        model.recommend(int(u), k=k, remove_seen=True, train_set=model.train_set) for u in users
    ]
    return pad_rows(rows, k)


def _bpr_space(trial: Any, factors: str, rate: str, reg: str, epochs: str) -> Params:
    """The BPR ranges both peers search, in each library's own parameter names."""
    return {
        factors: trial.suggest_int(factors, 16, 256, log=True),
        rate: trial.suggest_float(rate, 1e-3, 0.1, log=True),
        reg: trial.suggest_float(reg, 1e-5, 1e-1, log=True),
        epochs: trial.suggest_int(epochs, 20, 300, log=True),
    }


def cornac_bpr_space(trial: Any) -> Params:
    return _bpr_space(trial, "k", "learning_rate", "lambda_reg", "max_iter")


def cornac_ease_space(trial: Any) -> Params:
    return {
        "lamb": trial.suggest_float("lamb", 1.0, 1e4, log=True),
        "posB": trial.suggest_categorical("posB", [True, False]),
    }


def cornac_knn_space(trial: Any) -> Params:
    return {
        "k": trial.suggest_int("k", 10, 1000, log=True),
        "weighting": trial.suggest_categorical("weighting", ["none", "idf", "bm25"]),
    }


def _cornac_bpr(params: Params, seed: int) -> Any:
    from cornac.models import BPR

    return BPR(**params, seed=seed, verbose=False)


def _cornac_ease(params: Params, seed: int) -> Any:
    from cornac.models import EASE

    return EASE(**params, seed=seed, verbose=False)


def _cornac_knn(cls_name: str) -> Callable[[Params, int], Any]:
    def make(params: Params, seed: int) -> Any:
        import cornac.models

        weighting = None if params["weighting"] == "none" else params["weighting"]
        cls = getattr(cornac.models, cls_name)
        return cls(
            k=params["k"], similarity="cosine", weighting=weighting, seed=seed, verbose=False
        )

    return make


def _cornac_pop(params: Params, seed: int) -> Any:
    from cornac.models import MostPop

    return MostPop()


def cornac_adapters() -> list[Adapter]:
    rec = cornac_recommend
    return [
        Adapter("cornac", "bpr", "BPR", cornac_bpr_space, cornac_fit(_cornac_bpr), rec),
        Adapter("cornac", "ease", "EASE", cornac_ease_space, cornac_fit(_cornac_ease), rec),
        Adapter(
            "cornac",
            "itemknn",
            "ItemKNN",
            cornac_knn_space,
            cornac_fit(_cornac_knn("ItemKNN")),
            rec,
        ),
        Adapter(
            "cornac",
            "userknn",
            "UserKNN",
            cornac_knn_space,
            cornac_fit(_cornac_knn("UserKNN")),
            rec,
        ),
        Adapter("cornac", "pop", "MostPop", no_params, cornac_fit(_cornac_pop), rec),
    ]


# LensKit --------------------------------------------------------------------


def lenskit_dataset(train: sp.csr_matrix) -> Any:
    """A LensKit ``Dataset`` of every stored entry, play count as ``rating``, full vocabularies."""
    from lenskit.data import from_interactions_df

    coo = train.tocoo()
    frame = pd.DataFrame(
        {
            "user_id": coo.row.astype(np.int64),
            "item_id": coo.col.astype(np.int64),
            "rating": coo.data.astype(np.float32),
        }
    )
    return from_interactions_df(
        frame,
        user_col="user_id",
        item_col="item_id",
        rating_col="rating",
        users=np.arange(train.shape[0]),
        items=np.arange(train.shape[1]),
    )


def lenskit_fit(make: Callable[[Params], Any]) -> Callable[[sp.csr_matrix, Params, int], Any]:
    def fit(train: sp.csr_matrix, params: Params, seed: int) -> Any:
        from lenskit import topn_pipeline
        from lenskit.training import TrainingOptions

        pipe = topn_pipeline(make(params), n=K)
        pipe.train(lenskit_dataset(train), TrainingOptions(rng=seed))
        return pipe

    return fit


def lenskit_recommend(pipe: Any, users: np.ndarray, train: sp.csr_matrix, k: int) -> np.ndarray:
    """``lenskit.recommend`` per user: the default candidate selector drops training items."""
    from lenskit import recommend

    rows = [recommend(pipe, int(u), n=k).ids() for u in users]
    return pad_rows(rows, k)


def lenskit_als_space(trial: Any) -> Params:
    return {
        "embedding_size": trial.suggest_int("embedding_size", 16, 256, log=True),
        "regularization": trial.suggest_float("regularization", 1e-3, 1e2, log=True),
        "weight": trial.suggest_float("weight", 1.0, 100.0, log=True),
        "epochs": trial.suggest_int("epochs", 5, 30),
        "use_ratings": trial.suggest_categorical("use_ratings", [False, True]),
    }


def lenskit_bpr_space(trial: Any) -> Params:
    return _bpr_space(trial, "embedding_size", "learning_rate", "regularization", "epochs")


def lenskit_ease_space(trial: Any) -> Params:
    return {"regularization": trial.suggest_float("regularization", 1.0, 1e4, log=True)}


def lenskit_knn_space(trial: Any) -> Params:
    return {"max_nbrs": trial.suggest_int("max_nbrs", 10, 1000, log=True)}


def _lenskit_als(params: Params) -> Any:
    from lenskit.als import ImplicitMFConfig, ImplicitMFScorer

    return ImplicitMFScorer(ImplicitMFConfig(**params))


def _lenskit_bpr(params: Params) -> Any:
    from lenskit.flexmf import FlexMFImplicitConfig, FlexMFImplicitScorer

    return FlexMFImplicitScorer(FlexMFImplicitConfig(preset="bpr", **params))


def _lenskit_ease(params: Params) -> Any:
    from lenskit.knn import EASEConfig, EASEScorer

    return EASEScorer(EASEConfig(**params))


def _lenskit_itemknn(params: Params) -> Any:
    from lenskit.knn import ItemKNNConfig, ItemKNNScorer

    return ItemKNNScorer(ItemKNNConfig(**params, feedback="implicit"))


def _lenskit_userknn(params: Params) -> Any:
    from lenskit.knn import UserKNNConfig, UserKNNScorer

    return UserKNNScorer(UserKNNConfig(**params, feedback="implicit"))


def _lenskit_pop(params: Params) -> Any:
    from lenskit.basic import PopScorer

    return PopScorer()


def lenskit_adapters() -> list[Adapter]:
    rec = lenskit_recommend
    return [
        Adapter(
            "lenskit", "als", "ImplicitMFScorer", lenskit_als_space, lenskit_fit(_lenskit_als), rec
        ),
        Adapter(
            "lenskit",
            "bpr",
            "FlexMFImplicitScorer(preset=bpr)",
            lenskit_bpr_space,
            lenskit_fit(_lenskit_bpr),
            rec,
        ),
        Adapter(
            "lenskit", "ease", "EASEScorer", lenskit_ease_space, lenskit_fit(_lenskit_ease), rec
        ),
        Adapter(
            "lenskit",
            "itemknn",
            "ItemKNNScorer",
            lenskit_knn_space,
            lenskit_fit(_lenskit_itemknn),
            rec,
        ),
        Adapter(
            "lenskit",
            "userknn",
            "UserKNNScorer",
            lenskit_knn_space,
            lenskit_fit(_lenskit_userknn),
            rec,
        ),
        Adapter("lenskit", "pop", "PopScorer", no_params, lenskit_fit(_lenskit_pop), rec),
    ]


def adapters(libraries: Sequence[str], families: Sequence[str]) -> list[Adapter]:
    """The adapters of the chosen libraries and families, in a stable order."""
    found = {"cornac": cornac_adapters, "lenskit": lenskit_adapters}
    out = [a for lib in libraries for a in found[lib]()]
    return [a for a in out if a.family in families]


# --------------------------------------------------------------------------- evaluation


def long_table(users: np.ndarray, items: np.ndarray) -> pd.DataFrame:
    """``user_idx, rank, item_idx`` of a ``(n_users, k)`` item matrix (``-1`` pads kept)."""
    n, k = items.shape
    return pd.DataFrame(
        {
            "user_idx": np.repeat(users.astype(np.int64), k),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int64), n),
            "item_idx": items.reshape(-1).astype(np.int64),
        }
    )


def score(adapter: Adapter, model: Any, split: Split) -> pd.DataFrame:
    """Per-user metrics of ``model``'s top-``K`` lists on ``split.test`` (tastemap.evaluate.metrics)."""
    users = split.users
    items = adapter.recommend(model, users, split.train, K)
    per_user, _ = metrics.evaluate_recommendations(
        long_table(users, items), split.train, split.test, [K], source=adapter.name
    )
    return per_user


def search(adapter: Adapter, valid: Split, seed: int, trials: int) -> tuple[Params, float, int]:
    """Optuna TPE over ``adapter.space`` on the validation split: best values, score, trials."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        params = adapter.space(trial)
        model = adapter.fit(valid.train, params, seed)
        return float(score(adapter, model, valid)[PRIMARY].mean())

    n_trials = 1 if adapter.space is no_params else trials  # no hyper-parameter: one fit
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return dict(study.best_params), float(study.best_value), n_trials


@dataclass
class Result:
    """One (library, model, seed): chosen values, scores and times (no per-user arrays)."""

    library: str
    family: str
    model: str
    seed: int
    params: Params = field(default_factory=dict)
    trials: int = 0
    valid_ndcg: float = float("nan")
    test_ndcg: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    test_recall: float = float("nan")
    fit_s: float = float("nan")
    fit_cpu_s: float = float("nan")
    rec_s: float = float("nan")
    search_s: float = float("nan")
    n_users: int = 0
    error: str | None = None


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``fn()`` with its wall and process-CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def final_fit(
    adapter: Adapter, params: Params, split: Split, seed: int, result: Result
) -> pd.DataFrame:
    """Refit on ``split.train`` (timed), rank for every user (timed), score ``split.test``."""
    model, result.fit_s, result.fit_cpu_s = timed(lambda: adapter.fit(split.train, params, seed))
    users = split.users
    items, result.rec_s, _ = timed(lambda: adapter.recommend(model, users, split.train, K))
    per_user, _ = metrics.evaluate_recommendations(
        long_table(users, items), split.train, split.test, [K], source=adapter.name
    )
    values = per_user[PRIMARY].to_numpy()
    mean, low, high = stats.bootstrap_ci(values, n_resamples=1000, seed=0)
    result.test_ndcg, result.ci_low, result.ci_high = float(mean), float(low), float(high)
    result.test_recall = float(per_user[RECALL].mean())
    result.n_users = len(per_user)
    return per_user[["user_idx", PRIMARY]]


def run_one(
    adapter: Adapter, split_dir: Path, entity: str, seed: int, trials: int
) -> tuple[Result, pd.DataFrame | None]:
    """Search, refit and score one adapter on one seed; errors are recorded, not raised."""
    result = Result(adapter.library, adapter.family, adapter.model, seed)
    base = split_dir / f"seed{seed}"
    try:
        valid = load_split(base / "valid", entity)
        t0 = time.perf_counter()
        result.params, result.valid_ndcg, result.trials = search(adapter, valid, seed, trials)
        result.search_s = time.perf_counter() - t0
        per_user = final_fit(adapter, result.params, load_split(base, entity), seed, result)
    except Exception as exc:  # noqa: BLE001 - one failing peer must not lose the others
        log.exception("%s seed %d failed", adapter.name, seed)
        result.error = f"{type(exc).__name__}: {exc}"
        return result, None
    log.info(
        "%s seed %d: %s valid %.4f test %.4f fit %.2fs rec %.2fs search %.0fs",
        adapter.name,
        seed,
        result.params,
        result.valid_ndcg,
        result.test_ndcg,
        result.fit_s,
        result.rec_s,
        result.search_s,
    )
    return result, per_user


# --------------------------------------------------------------------------- report


def summarise(
    results: list[Result], per_user: dict[tuple[str, str], list[pd.DataFrame]]
) -> pd.DataFrame:
    """One row per (library, family): means over the seeds and a CI of the seed-averaged users."""
    frame = pd.DataFrame([r.__dict__ for r in results if r.error is None])
    if frame.empty:
        return frame
    rows = []
    for (lib, fam), group in frame.groupby(["library", "family"], sort=False):
        tables = per_user[(lib, fam)]
        avg = pd.concat(tables).groupby("user_idx")[PRIMARY].mean().to_numpy()
        _, low, high = stats.bootstrap_ci(avg, n_resamples=1000, seed=0)
        rows.append(
            {
                "library": lib,
                "family": fam,
                "model": group["model"].iloc[0],
                "seeds": group["seed"].tolist(),
                "params": dict(zip(group["seed"], group["params"])),
                "valid_ndcg": group["valid_ndcg"].mean(),
                "test_ndcg": group["test_ndcg"].mean(),
                "ci_low": float(low),
                "ci_high": float(high),
                "test_recall": group["test_recall"].mean(),
                "fit_s": group["fit_s"].mean(),
                "rec_s": group["rec_s"].mean(),
                "search_s": group["search_s"].mean(),
                "trials": int(group["trials"].iloc[0]),
            }
        )
    return pd.DataFrame(rows).sort_values("test_ndcg", ascending=False, ignore_index=True)


def fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def fmt_params(params: Params) -> str:
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in params.items()) or "-"


def summary_markdown(summary: pd.DataFrame) -> str:
    head = (
        "| library | model | chosen values (per seed) | valid nDCG@10 | test nDCG@10 | "
        "95% CI | recall@10 | fit s | top-10 s | trials |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in summary.itertuples():
        chosen = "<br>".join(f"s{s}: {fmt_params(p)}" for s, p in r.params.items())
        lines.append(
            f"| {r.library} | {r.family} ({r.model}) | {chosen} | {r.valid_ndcg:.4f} | "
            f"{r.test_ndcg:.4f} | [{r.ci_low:.4f}, {r.ci_high:.4f}] | {r.test_recall:.4f} | "
            f"{r.fit_s:.2f} | {r.rec_s:.2f} | {r.trials} |"
        )
    return "\n".join(lines)


def per_seed_markdown(results: list[Result]) -> str:
    lines = [
        "| library | family | seed | valid nDCG@10 | test nDCG@10 | 95% CI | recall@10 | "
        "fit s | fit CPU s | top-10 s | search s |",
        "|" + "---|" * 11,
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.library} | {r.family} | {r.seed} | error: {r.error} |" + " |" * 7)
            continue
        lines.append(
            f"| {r.library} | {r.family} | {r.seed} | {r.valid_ndcg:.4f} | {r.test_ndcg:.4f} | "
            f"[{r.ci_low:.4f}, {r.ci_high:.4f}] | {r.test_recall:.4f} | {r.fit_s:.2f} | "
            f"{r.fit_cpu_s:.2f} | {r.rec_s:.2f} | {r.search_s:.0f} |"
        )
    return "\n".join(lines)


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(argv: Sequence[str]) -> dict[str, Any]:
    """Versions, command, date and machine of this run."""
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    threads = {
        v: os.environ.get(v, "unset")
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    date = subprocess.run(["date", "-u"], capture_output=True, text=True, check=False).stdout
    return {
        "python": platform.python_version(),
        "versions": {
            d: version(d)
            for d in ("cornac", "lenskit", "numpy", "scipy", "pandas", "optuna", "torch")
        },
        "command": " ".join([Path(sys.executable).name, *argv]),
        "date": date.strip(),
        "machine": f"{platform.node()} {platform.system()} {platform.release()} "
        f"{platform.machine()}, {cpu}, {os.cpu_count()} CPUs",
        "threads": threads,
    }


def markdown(
    args: argparse.Namespace, env: dict[str, Any], summary: pd.DataFrame, results: list[Result]
) -> str:
    vers = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    thr = ", ".join(f"{k}={v}" for k, v in env["threads"].items())
    return "\n".join(
        [
            f"# Peer libraries on tastemap's splits: {args.split_dir} ({args.entity})",
            "",
            f"Seeds {' '.join(map(str, args.seeds))}; Optuna TPE, {args.trials} trials per model on "
            "valid/train -> valid/test (ndcg@10), refit on train, scored on test with "
            "tastemap.evaluate.metrics. Test nDCG@10, recall@10, fit and top-10 seconds are means over "
            "the seeds; the 95% CI is tastemap.evaluate.stats.bootstrap_ci (1,000 user resamples, seed 0) "
            "of each user's ndcg@10 averaged over the seeds. Fit and top-10 seconds are wall "
            "time of the final refit on train and of ranking the top 10 for every user.",
            "",
            summary_markdown(summary) if not summary.empty else "(no successful run)",
            "",
            "## Per seed (CI per seed, 1,000 user resamples, seed 0)",
            "",
            per_seed_markdown(results),
            "",
            f"- python {env['python']}; {vers}",
            f"- command: `{env['command']}`",
            f"- date: {env['date']}",
            f"- machine: {env['machine']}; {thr}",
            "",
        ]
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--split-dir", type=Path, required=True, help="directory holding seed{S}/")
    p.add_argument("--entity", default="artist", help="matrix entity: artist or song")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--trials", type=int, default=20, help="Optuna trials per model")
    p.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    p.add_argument("--libraries", nargs="+", choices=LIBRARIES, default=list(LIBRARIES))
    p.add_argument("--out", type=Path, required=True, help="Markdown report")
    p.add_argument("--json", type=Path, required=True, help="per-seed numbers as JSON")
    return p.parse_args(argv)


def quiet_libraries() -> None:
    """One thread for LensKit and torch; no per-trial chatter from Optuna or LensKit."""
    for var in ("LK_NUM_PROCS", "LK_NUM_THREADS", "LK_NUM_BACKEND_THREADS"):
        os.environ.setdefault(var, "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("lenskit", "optuna", "cornac"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def write_reports(
    args: argparse.Namespace,
    env: dict[str, Any],
    results: list[Result],
    per_user: dict[tuple[str, str], list[pd.DataFrame]],
) -> None:
    """Write the Markdown report and the JSON of everything finished so far."""
    summary = summarise(results, per_user)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(args, env, summary, results))
    payload = {
        "split_dir": str(args.split_dir),
        "entity": args.entity,
        "seeds": args.seeds,
        "trials": args.trials,
        "k": K,
        "primary": PRIMARY,
        **env,
        "results": [r.__dict__ for r in results],
        "summary": summary.to_dict(orient="records"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    quiet_libraries()
    env = environment([sys.argv[0], *argv])
    results: list[Result] = []
    per_user: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for adapter in adapters(args.libraries, args.families):
        for seed in args.seeds:
            result, table = run_one(adapter, args.split_dir, args.entity, seed, args.trials)
            results.append(result)
            if table is not None:
                per_user.setdefault((adapter.library, adapter.family), []).append(table)
            # rewritten after every run: an interrupted benchmark keeps what it finished
            write_reports(args, env, results, per_user)
    print(args.out.read_text())
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
