"""One fit, end to end: build a registered model, fit it, rank for every user and item.

What the workflow's ``fit_model`` rule does, as a plain function usable from a notebook.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from tastemap.config import SIZE_KEYS
from tastemap.models.base import Recommender, make
from tastemap.models.tables import history_table, recommendations_table, similar_table

logger = logging.getLogger(__name__)


def check_sizes(name: str, params: dict[str, Any], n_items: int) -> None:
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


def fit_outputs(
    name: str, params: dict[str, Any], seed: int, train: sp.csr_matrix,
    users: np.ndarray, items: np.ndarray, n: int, similar_n: int, threads: int = 1,
) -> tuple[Recommender, pd.DataFrame, pd.DataFrame, pa.Table]:
    """Fit model ``name`` with ``params`` and seed on ``train`` (users x items play counts).

    Returns ``(model, recommendations, similar, history)``: top-``n`` unplayed items for every
    user, top-``similar_n`` similar items for every item (empty table if the model has no item
    similarity), and the training curve. ``users``/``items`` are the names by index.
    """
    if train.shape != (len(users), len(items)):
        raise ValueError(f"matrix is {train.shape}, id tables have {len(users)} users and "
                         f"{len(items)} items")
    check_sizes(name, params, train.shape[1])
    model = make(name, random_state=int(seed), **params)
    model.num_threads = max(1, int(threads))
    t0 = time.monotonic()
    logger.info("fitting %s %s (seed %d) on %d x %d with %d stored plays", name, params, seed,
                *train.shape, train.nnz)
    model.fit(train)
    t1 = time.monotonic()
    logger.info("fit took %.1f s; recommending top %d for %d users", t1 - t0, n, train.shape[0])
    ids, scores = model.recommend(k=n)
    recs = recommendations_table(np.arange(train.shape[0]), ids, scores, users, items)
    t2 = time.monotonic()
    logger.info("recommend took %.1f s (%d rows)", t2 - t1, len(recs))
    try:
        if similar_n == 0:  # not asked for (fits on a split: the evaluation reads no similar items)
            raise NotImplementedError("similar_n = 0")
        sids, sscores = model.similar_items(np.arange(train.shape[1]), k=similar_n)
    except NotImplementedError as err:
        logger.warning("no similar items: %s", err)
        sids = np.full((0, similar_n), -1, np.int32)
        sscores = np.zeros((0, similar_n), np.float32)
    similar = similar_table(np.arange(len(sids)), sids, sscores, items)
    logger.info("similar items took %.1f s (%d rows)", time.monotonic() - t2, len(similar))
    return model, recs, similar, history_table(list(model.history_))
