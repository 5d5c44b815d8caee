"""One fit, end to end: build a registered model, fit it, rank for every user and item.

What the workflow's ``fit_model`` rule does, as plain functions usable from a notebook:

>>> import numpy as np, scipy.sparse as sp
>>> plays = sp.csr_matrix(np.array([[3, 0, 1], [0, 2, 0], [1, 1, 0]], dtype=np.float32))
>>> out = fit_outputs(Fit("popularity", {"by": "users"}), plays,
...                   users=np.array(["u0", "u1", "u2"]), items=np.array(["a", "b", "c"]), n=1)
>>> out.recommendations[["user", "item"]].values.tolist()
[['u0', 'b'], ['u1', 'a'], ['u2', 'c']]
>>> out.similar is None          # not asked for (similar_n = 0)
True
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from tastemap.config import SIZE_KEYS
from tastemap.models.base import Recommender
from tastemap.models.registry import get
from tastemap.models.tables import history_table, recommendations_table, similar_table

logger = logging.getLogger(__name__)


def check_sizes(name: str, params: Mapping[str, Any], n_items: int) -> None:
    """Refuse sizes the catalogue cannot support, naming the config key.

    >>> check_sizes("als", {"factors": 64}, 50)
    Traceback (most recent call last):
    ...
    ValueError: models.als.factors: 64 is not smaller than the catalogue (50 items)
    """
    for key in SIZE_KEYS:
        value = params.get(key)
        if isinstance(value, int) and value >= n_items:
            raise ValueError(f"models.{name}.{key}: {value} is not smaller than the catalogue "
                             f"({n_items} items)")


@dataclass(frozen=True)
class Fit:
    """What one fit needs besides the data.

    ``family``: the registered name (``als``...); ``params``: its hyper-parameters (one variant,
    no lists); ``seed``: the model's ``random_state``; ``module``: the module of a family
    outside tastemap (``models.<name>.module``); ``threads``: run-time threads for fit and
    scoring.
    """

    family: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    module: str | None = None
    threads: int = 1

    def build(self) -> Recommender:
        """The unfitted model."""
        model = get(self.family, self.module)(random_state=int(self.seed), **dict(self.params))
        model.num_threads = max(1, int(self.threads))
        return model


@dataclass
class FitOutputs:
    """What one fit gives: the fitted ``model``; ``recommendations`` (top-``n`` unplayed items
    of every user, :func:`~tastemap.models.tables.recommendations_table`); ``similar`` (top
    similar items of every item, :func:`~tastemap.models.tables.similar_table`; ``None`` when
    not asked for or the family has none); ``history`` (the training curve,
    :func:`~tastemap.models.tables.history_table`)."""

    model: Recommender
    recommendations: pd.DataFrame
    similar: pd.DataFrame | None
    history: pa.Table

    def write(self, model: str | Path, recommendations: str | Path, history: str | Path,
              similar: str | Path | None = None) -> None:
        """Write each part to its file (``similar``: an empty table if the family has none)."""
        self.model.save(model)
        self.recommendations.to_parquet(recommendations, index=False)
        pq.write_table(self.history, history)
        if similar is not None:
            table = self.similar if self.similar is not None else similar_table(
                np.arange(0), np.full((0, 1), -1, np.int32), np.zeros((0, 1), np.float32),
                np.array([], dtype=object))
            table.to_parquet(similar, index=False)


def fit_model(fit: Fit, train: sp.csr_matrix) -> Recommender:
    """Build the model of ``fit`` and fit it on ``train`` (users x items play counts)."""
    check_sizes(fit.family, fit.params, train.shape[1])
    model = fit.build()
    logger.info("fitting %s %s (seed %d) on %d x %d with %d stored plays", fit.family,
                dict(fit.params), fit.seed, *train.shape, train.nnz)
    t0 = time.monotonic()
    model.fit(train)
    logger.info("fit took %.1f s", time.monotonic() - t0)
    return model


def fit_outputs(fit: Fit, train: sp.csr_matrix, users: np.ndarray, items: np.ndarray,
                n: int = 10, similar_n: int = 0) -> FitOutputs:
    """Fit, then rank: top-``n`` unplayed items for every user and, when ``similar_n > 0`` and
    the family has similar items, the top-``similar_n`` similar items of every item.

    ``train`` is users x items; ``users`` / ``items`` are the names by index.
    """
    if train.shape != (len(users), len(items)):
        raise ValueError(f"matrix is {train.shape}, id tables have {len(users)} users and "
                         f"{len(items)} items")
    model = fit_model(fit, train)
    t0 = time.monotonic()
    ids, scores = model.recommend(k=n)
    recs = recommendations_table(np.arange(train.shape[0]), ids, scores, users, items)
    logger.info("recommend took %.1f s (%d rows)", time.monotonic() - t0, len(recs))
    similar = None
    if similar_n > 0 and model.similar_by is None:
        logger.info("%s has no similar items", fit.family)
    elif similar_n > 0:
        t0 = time.monotonic()
        sids, sscores = model.similar_items(np.arange(train.shape[1]), k=similar_n)
        similar = similar_table(np.arange(len(sids)), sids, sscores, items)
        logger.info("similar items (%s) took %.1f s (%d rows)", model.similar_by,
                    time.monotonic() - t0, len(similar))
    return FitOutputs(model, recs, similar, history_table(list(model.history_)))


def load_model(path: str | Path, family: str, module: str | None = None,
               train: sp.spmatrix | None = None) -> Recommender:
    """A model file of the workflow: imports an outside family's ``module`` first (named by
    the config, not by the file), then ``Recommender.load(path, train)``."""
    get(family, module)
    model = Recommender.load(path, train=train)
    if model.name != family:
        raise ValueError(f"{path}: holds a {model.name} model, expected {family}")
    return model
