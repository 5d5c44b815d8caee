"""New users on a fitted map: maps saved as ``model.npz`` (no pickle), new listening rows in a
map's item order, and their placement."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from tastemap.core import store
from tastemap.explore.maps import NeighbourPlacement, binarize

logger = logging.getLogger(__name__)

#: classes a saved map may hold: nothing else is ever instantiated from a model.npz
MAP_STEPS = {cls.__name__: cls for cls in (Normalizer, TruncatedSVD, NeighbourPlacement)}


def save_map(model: Pipeline, path, params: dict[str, Any] | None = None) -> None:
    """Write a fitted map (the SVD representation, a pca or a umap map: a ``Pipeline`` of
    :data:`MAP_STEPS`) as ``model.npz``: arrays and a JSON header, no pickle, the format of
    every tastemap model (:func:`tastemap.core.store.write_estimators`). ``params``
    (JSON-able: method, seed, ...) are stored with it."""
    store.write_estimators(path, model.steps, params=params)


def load_map(path) -> Pipeline:
    """Read a map written by :func:`save_map` (``np.load(..., allow_pickle=False)``) and rebuild
    its scikit-learn ``Pipeline``; a pickle (the joblib files of earlier versions) or a foreign
    step is refused."""
    steps, _ = store.read_estimators(path, MAP_STEPS)
    return Pipeline(steps)


def place_users(model: Pipeline, user_items: sp.spmatrix) -> np.ndarray:
    """Place new users into a saved users map without refitting.

    Parameters
    ----------
    model : the fitted map of a ``users`` side (``model.npz`` of pca or umap read by
        :func:`load_map`; t-SNE cannot place new points and writes no model).
    user_items : (n_new, n_items) play counts of the new users, columns in the map's item
        order (``artist_idx`` / ``song_idx``); binarised here.

    Returns
    -------
    coords : (n_new, 2) float32 in the map's coordinates.
    """
    rows = binarize(user_items)
    n_in = getattr(model.steps[0][1], "n_features_in_", None)
    if n_in is not None and rows.shape[1] != n_in:
        raise ValueError(f"user_items has {rows.shape[1]} columns, the map was fit on {n_in}")
    return np.asarray(model.transform(rows), dtype=np.float32)


def listens_to_rows(
    listens: pd.DataFrame, item_index: pd.Series, key: str | list[str] = "artist"
) -> tuple[np.ndarray, sp.csr_matrix, int]:
    """New users' listening rows in a map's item order.

    Parameters
    ----------
    listens : one row per (user, item, plays) - columns ``user``, ``plays`` (missing: 1) and the
        item ``key`` columns (``artist``, or ``[artist, track]`` for songs).
    item_index : item key -> column index (``artist_idx`` / ``song_idx``) of the saved map.
    key : column(s) naming the item.

    Returns
    -------
    users : (n_new,) user names in row order.
    matrix : (n_new, len(item_index)) CSR float32 play counts.
    n_unknown : listening rows whose item the map does not know (dropped; the caller logs it).
    """
    keys = [key] if isinstance(key, str) else list(key)
    missing = [c for c in ["user", *keys] if c not in listens.columns]
    if missing:
        raise ValueError(f"listening table lacks column(s) {missing}; has {list(listens.columns)}")
    plays = listens["plays"] if "plays" in listens.columns else pd.Series(1, index=listens.index)
    item_key = (listens[keys[0]].astype(str) if len(keys) == 1
                else pd.Series(list(zip(*(listens[k].astype(str) for k in keys))),
                               index=listens.index))
    col = item_key.map(item_index)
    known = col.notna().to_numpy()
    users, row = np.unique(listens["user"].astype(str).to_numpy(), return_inverse=True)
    matrix = sp.csr_matrix(
        (plays.to_numpy(dtype=np.float32)[known], (row[known], col[known].astype(np.int64))),
        shape=(len(users), len(item_index)), dtype=np.float32)
    matrix.sum_duplicates()
    return users, matrix, int((~known).sum())



def item_index(items: pd.DataFrame, entity: str) -> tuple[pd.Series, str | list[str]]:
    """Item key -> column index of a matrix: artist name -> ``artist_idx`` (``artists.parquet``)
    or (artist, track) -> ``song_idx`` (``songs.parquet``); returns the index and the key
    column(s) of a listening table for :func:`listens_to_rows`."""
    if entity == "artist":
        index = pd.Series(items["artist_idx"].to_numpy(), index=items["artist"].astype(str))
        return index, "artist"
    keys = pd.MultiIndex.from_arrays([items["artist"].astype(str), items["track"].astype(str)])
    return pd.Series(items["song_idx"].to_numpy(), index=keys.to_flat_index()), ["artist", "track"]
