"""Validation search: each family's hyper-parameters chosen on the data at hand.

For one family, entity and seed, :func:`run_search` asks Optuna's TPE sampler for values of the
family's declared search space (``Recommender.search_space``, narrowed by the config), fits the
family on the validation split's train part, ranks the validation users' unplayed items and
scores them with :func:`tastemap.evaluate.metrics.evaluate_recommendations` (the evaluation's own primary
metric). The budget is a number of completed trials, the same for every family unless the
config says otherwise; the best trial's values are the family's chosen values (``tuned``), fit
and evaluated on the test split like any other variant.

Why Optuna's TPE: a well-kept search library with a journal file (a killed search resumes), a
sampler that is deterministic given its seed and the completed trials, and the trials table.
With 20 trials the tuned classic families reach the tuned Cornac and LensKit models on
MovieLens 100K and the simulated default (docs/quality.md, "Tuned on the data").

Reproducible and resumable:

* every trial's values depend only on the seed, the number of trials completed before it and
  their results: trial ``i`` gets a fresh sampler seeded from ``(seed, i)``, and fits are seeded;
  an interrupted trial (a killed job) is not counted and not seen by the sampler, so a run
  resumed from the journal chooses exactly what an uninterrupted run chooses;
* the trials live in an Optuna journal file (``JournalFileBackend``) keyed by everything that
  defines the search except the budget (:func:`study_name`): resuming, or raising the budget,
  continues the same study; lowering it chooses among its first trials, as a fresh run would.

A sample of validation users (``users``) keeps the search cheap on large logs: the model is fit
on those users' rows and scored on them.

>>> import numpy as np, scipy.sparse as sp
>>> from tastemap.models.space import Int
>>> rng = np.random.default_rng(0)
>>> X = sp.random(60, 40, density=0.2, random_state=rng, format="csr", dtype=np.float32)
>>> train, test = X.copy(), X.copy()
>>> train.data[::3], test.data[1::3] = 0, 0
>>> train.eliminate_zeros(); test.data[:] = 1; test.eliminate_zeros()
>>> s = Search("userknn", {}, {"neighbours": Int(2, 30)}, trials=4, startup_trials=2)
>>> table = run_search(s, train, test, seed=0, journal=None)
>>> len(table), list(table.columns[:3])
(4, ['trial', 'score', 'neighbours'])
>>> bool(chosen(table, s)["neighbours"] == table.sort_values("score", ascending=False).iloc[0]["neighbours"])
True
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.evaluate import metrics
from tastemap.models.base import Diverged
from tastemap.models.registry import TUNED  # noqa: F401 (the searched variant's name)
from tastemap.models.space import Dimension, Float, Int, describe_space, searched
from tastemap.pipeline.fit import Fit, check_sizes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Search:
    """What one family's search is: the family, its fixed hyper-parameters (``base``), the space
    (key -> dimension), the budget (completed ``trials``; the first ``startup_trials`` are drawn
    at random before TPE models the results), the metric it maximises, the cut-offs scored, the
    validation users it scores (``users``: 0 = every one) and the family's outside ``module``."""

    family: str
    base: Mapping[str, Any]
    space: Mapping[str, Dimension]
    trials: int = 20
    startup_trials: int = 8
    metric: str = "ndcg@10"
    ks: Sequence[int] = (10,)
    users: int = 0
    module: str | None = None
    threads: int = 1

    def __post_init__(self):
        if self.trials < 1:
            raise ValueError(f"search.trials: {self.trials}: at least one trial")
        if self.metric not in metrics.metric_names(self.ks):
            raise ValueError(f"evaluate.primary_metric: {self.metric} is not scored at cut-offs "
                             f"{list(self.ks)}")


def fitted_to(space: Mapping[str, Dimension], shape: tuple[int, int]) -> dict[str, Dimension]:
    """``space`` with its size dimensions (factors, neighbours, topics) capped below the
    matrix's smaller side, so no trial asks for more factors than the data has."""
    from tastemap.config import SIZE_KEYS

    cap = min(shape) - 1
    out = dict(space)
    for key, dim in space.items():
        if key in SIZE_KEYS and isinstance(dim, Int) and dim.high > cap:
            if dim.low > cap:
                raise ValueError(f"search space of {key}: {dim.low} or more is not smaller than "
                                 f"the {shape[0]} x {shape[1]} validation matrix")
            out[key] = Int(dim.low, cap, dim.log)
    return out


def study_name(search: Search, seed: int, data: str) -> str:
    """The journal's study name: a hash of everything that defines the search except its budget
    (so a resumed or enlarged search continues the same study), including the data and the
    tastemap version (whose families' code the trials ran)."""
    from importlib.metadata import version

    what = {"family": search.family, "base": dict(search.base),
            "space": describe_space(search.space), "startup": search.startup_trials,
            "metric": search.metric, "ks": list(search.ks), "users": search.users,
            "seed": seed, "data": data, "tastemap": version("tastemap")}
    digest = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
    return f"{search.family}-{digest[:16]}"


def sample_users(train: sp.csr_matrix, test: sp.csr_matrix, n: int,
                 seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The rows of ``n`` validation users drawn by ``seed`` (users with test items), or both
    matrices unchanged when ``n`` is 0 or not below their number."""
    users = np.flatnonzero(np.diff(sp.csr_matrix(test).indptr))
    if n <= 0 or n >= len(users):
        return train, test
    pick = np.sort(np.random.default_rng([seed, 7919]).choice(users, size=n, replace=False))
    return sp.csr_matrix(train[pick]), sp.csr_matrix(test[pick])


def _data_key(train: sp.csr_matrix, test: sp.csr_matrix) -> str:
    from tastemap.core.store import fingerprint

    return fingerprint(sp.csr_matrix(train)) + fingerprint(sp.csr_matrix(test))


def _trial_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def evaluate_params(search: Search, params: Mapping[str, Any], train: sp.csr_matrix,
                    test: sp.csr_matrix, seed: int) -> tuple[float, float, float]:
    """Fit ``params`` on ``train`` and score the users of ``test``: (metric, fit s, rank s)."""
    full = {**dict(search.base), **dict(params)}
    check_sizes(search.family, full, train.shape[1])
    model = Fit(search.family, full, seed, module=search.module, threads=search.threads).build()
    start = time.perf_counter()
    model.fit(train)
    fitted = time.perf_counter()
    users = np.flatnonzero(np.diff(test.indptr))
    k = max(int(k) for k in search.ks)
    items, _ = model.recommend(users, k)
    recs = pd.DataFrame({"user_idx": np.repeat(users, k).astype(np.int64),
                         "rank": np.tile(np.arange(1, k + 1), len(users)),
                         "item_idx": items.ravel().astype(np.int64)})
    per_user, _ = metrics.evaluate_recommendations(recs, train, test, list(search.ks),
                                                   source=f"{search.family} search")
    return float(per_user[search.metric].mean()), fitted - start, time.perf_counter() - fitted


def _storage(journal: Path | None):
    import optuna

    if journal is None:
        return optuna.storages.InMemoryStorage()
    journal.parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(str(journal))
    return optuna.storages.journal.JournalStorage(backend)


def run_search(search: Search, train: sp.csr_matrix, test: sp.csr_matrix, seed: int,
               journal: Path | None) -> pd.DataFrame:
    """Run (or resume) the search until ``search.trials`` trials have completed; return the
    trials table (:func:`trials_table`) of the first ``search.trials`` of them.

    ``train``/``test``: the validation split (users x items); ``journal``: the Optuna journal
    file (``None``: in memory, nothing resumable)."""
    import optuna
    import torch  # noqa: F401 - ranking's top-k: imported here, not inside trial 0's timing
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    train, test = sample_users(sp.csr_matrix(train), sp.csr_matrix(test), search.users, seed)
    space = fitted_to(search.space, train.shape)
    keys = searched(space)
    fixed = {k: space[k].suggest(None, k) for k in space if k not in keys}
    storage = _storage(journal)
    name = study_name(search, seed, _data_key(train, test))
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                load_if_exists=True)
    # a trial left running by a killed job is neither counted nor seen by the sampler (TPE
    # without constant_liar models completed trials only)
    interrupted = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.FAIL))
    if interrupted:
        logger.info("%s: %d interrupted or failed trials left out", name, len(interrupted))

    def objective(trial):
        params = {k: space[k].suggest(trial, k) for k in keys} | fixed
        try:
            score, fit_s, rank_s = evaluate_params(search, params, train, test, seed)
        except Diverged as err:  # values the model cannot be fit at: the worst score
            logger.warning("%s trial %d: %s -> diverged, scored 0 (%s)", search.family,
                           trial.number, params, err)
            trial.set_user_attr("diverged", str(err))
            return 0.0
        trial.set_user_attr("fit_s", fit_s)
        trial.set_user_attr("rank_s", rank_s)
        logger.info("%s trial %d: %s -> %s %.5f (fit %.1f s, rank %.1f s)", search.family,
                    trial.number, params, search.metric, score, fit_s, rank_s)
        return score

    def completed():
        return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))

    while len(done := completed()) < search.trials:
        study.sampler = optuna.samplers.TPESampler(
            seed=_trial_seed(seed, len(done)), n_startup_trials=search.startup_trials,
            multivariate=True, constant_liar=False)
        study.optimize(objective, n_trials=1)
    return trials_table(completed()[: search.trials], keys, fixed)


def trials_table(trials: Sequence[Any], keys: Sequence[str],
                 fixed: Mapping[str, Any]) -> pd.DataFrame:
    """One row per completed trial, in order: ``trial`` (0-based), ``score``, one column per
    searched key, ``fit_s``, ``rank_s`` and ``best`` (the running best score)."""
    rows = [{"trial": i, "score": float(t.value),
             **{k: t.params.get(k, fixed.get(k)) for k in keys},
             "fit_s": float(t.user_attrs.get("fit_s", np.nan)),
             "rank_s": float(t.user_attrs.get("rank_s", np.nan))}
            for i, t in enumerate(trials)]
    table = pd.DataFrame(rows, columns=["trial", "score", *keys, "fit_s", "rank_s"])
    table["best"] = table["score"].cummax()
    return table


#: columns of a trials table that are not hyper-parameters
_TRIAL_COLUMNS = ("trial", "score", "fit_s", "rank_s", "best")


def value_columns(table: pd.DataFrame) -> list[str]:
    """The searched hyper-parameters of a trials table (:func:`trials_table`), in order."""
    return [k for k in table.columns if k not in _TRIAL_COLUMNS]


def best_trial(table: pd.DataFrame) -> int:
    """Row of the best trial (the first of equal scores)."""
    return int(np.argmax(table["score"].to_numpy()))


def chosen(table: pd.DataFrame, search: Search) -> dict[str, Any]:
    """The chosen hyper-parameters: the base values with the best trial's values."""
    best = best_trial(table)
    values = {k: _typed(search.space.get(k), table[k].iloc[best]) for k in value_columns(table)}
    return {**dict(search.base), **values}


def _typed(dim: Dimension | None, value: Any) -> Any:
    """A table cell as its dimension's Python type (a row of mixed columns is all floats)."""
    value = _plain(value)
    if isinstance(dim, Int):
        return int(value)
    if isinstance(dim, Float):
        return float(value)
    return value


def _plain(value: Any) -> Any:
    """numpy scalars -> Python values (JSON, model constructors)."""
    return value.item() if isinstance(value, np.generic) else value


def chosen_record(table: pd.DataFrame, search: Search, seed: int) -> dict[str, Any]:
    """What ``chosen.json`` holds: the family, every hyper-parameter of the chosen values, the
    searched ones, the best validation score, the budget and the space."""
    params, best = chosen(table, search), best_trial(table)
    return {"family": search.family, "seed": int(seed), "params": params,
            "searched": {k: params[k] for k in value_columns(table)},
            "metric": search.metric, "score": float(table["score"].iloc[best]),
            "best_trial": best, "trials": int(len(table)), "users": int(search.users),
            "startup_trials": int(search.startup_trials),
            "space": describe_space(search.space),
            "seconds": float(table["fit_s"].sum() + table["rank_s"].sum())}


def read_chosen(path: str | Path) -> dict[str, Any]:
    """A ``chosen.json`` (plain JSON: nothing in it is executed)."""
    with open(path, encoding="utf-8") as fh:
        record = json.load(fh)
    if not isinstance(record, dict) or not isinstance(record.get("params"), dict):
        raise ValueError(f"{path}: not a search result (no 'params' mapping)")
    return record


def write_chosen(record: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def format_values(values: Mapping[str, Any]) -> str:
    """``key=value`` pairs of chosen values, compact (leaderboard cells).

    >>> format_values({"factors": 87, "regularization": 12.3456789, "confidence": "log"})
    'factors=87, regularization=12.35, confidence=log'
    """
    def one(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k}={one(v)}" for k, v in values.items())


def summary_table(trials: Mapping[str, pd.DataFrame], records: Mapping[str, Mapping]) -> pd.DataFrame:
    """Every searched family's trials in one long table (``search.csv``): ``model, trial,
    score, best, chosen`` (the chosen trial), ``values`` (the trial's values as text),
    ``fit_s, rank_s``.

    ``trials``: model -> its trials table; ``records``: model -> its chosen.json record.
    """
    frames = []
    for model, table in trials.items():
        keys = value_columns(table)
        frames.append(pd.DataFrame({
            "model": model, "trial": table["trial"].astype(int), "score": table["score"],
            "best": table["best"], "chosen": table["trial"] == records[model]["best_trial"],
            "values": [format_values({k: _plain(row[k]) for k in keys})
                       for _, row in table.iterrows()],
            "fit_s": table["fit_s"], "rank_s": table["rank_s"]}))
    columns = ["model", "trial", "score", "best", "chosen", "values", "fit_s", "rank_s"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
