"""Model outputs as tables: recommendations, similar items, training history, new listeners,
explanations. Pure functions from arrays + id tables to ``pandas.DataFrame`` with fixed dtypes."""
from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

HISTORY_SCHEMA = pa.schema(
    [("epoch", pa.int32()), ("split", pa.string()), ("metric", pa.string()), ("value", pa.float64())]
)


def item_names(items: pd.DataFrame, entity: str) -> np.ndarray:
    """Display name of every item, indexed by ``*_idx``: the artist, or "artist - title" for songs.

    ``items`` is ``data/artists.parquet`` (``artist_idx, artist``) or ``data/songs.parquet``
    (``song_idx, artist, track``).
    """
    col = f"{entity}_idx"
    items = items.sort_values(col)
    if not np.array_equal(items[col].to_numpy(), np.arange(len(items))):
        raise ValueError(f"{entity} table: {col} must be 0..n-1 without gaps")
    if entity == "song":
        names = items["artist"].astype(str) + " - " + items["track"].astype(str)
    else:
        names = items["artist"].astype(str)
    return names.to_numpy(dtype=object)


def user_names(users: pd.DataFrame) -> np.ndarray:
    """User name of every ``user_idx`` (``data/users.parquet``)."""
    users = users.sort_values("user_idx")
    return users["user"].astype(str).to_numpy(dtype=object)


def _ranked(ids: np.ndarray, scores: np.ndarray):
    """Flatten (n, k) top-k arrays, dropping the -1 padding: (row, rank 1-based, id, score)."""
    k = ids.shape[1]
    ok = ids >= 0
    rows = np.repeat(np.arange(ids.shape[0]), k).reshape(ids.shape)[ok]
    ranks = np.tile(np.arange(1, k + 1), ids.shape[0]).reshape(ids.shape)[ok]
    return rows, ranks, ids[ok], scores[ok]


def recommendations_table(
    user_idx: np.ndarray, ids: np.ndarray, scores: np.ndarray,
    users: np.ndarray, items: np.ndarray,
) -> pd.DataFrame:
    """``user_idx:int32, user:string, rank:int16 (1-based), item_idx:int32, item:string,
    score:float32``; ``ids``/``scores`` are ``(len(user_idx), k)`` from ``recommend``."""
    rows, ranks, item, score = _ranked(ids, scores)
    u = np.asarray(user_idx)[rows]
    return pd.DataFrame({
        "user_idx": pd.array(u, dtype="int32"),
        "user": pd.array(users[u], dtype="string"),
        "rank": pd.array(ranks, dtype="int16"),
        "item_idx": pd.array(item, dtype="int32"),
        "item": pd.array(items[item], dtype="string"),
        "score": pd.array(score, dtype="float32"),
    })


def similar_table(item_idx: np.ndarray, ids: np.ndarray, scores: np.ndarray,
                  items: np.ndarray) -> pd.DataFrame:
    """``item_idx:int32, item:string, rank:int16, similar_idx:int32, similar:string,
    score:float32``; ``ids``/``scores`` are ``(len(item_idx), k)`` from ``similar_items``."""
    rows, ranks, sim, score = _ranked(ids, scores)
    i = np.asarray(item_idx)[rows]
    return pd.DataFrame({
        "item_idx": pd.array(i, dtype="int32"),
        "item": pd.array(items[i], dtype="string"),
        "rank": pd.array(ranks, dtype="int16"),
        "similar_idx": pd.array(sim, dtype="int32"),
        "similar": pd.array(items[sim], dtype="string"),
        "score": pd.array(score, dtype="float32"),
    })


def history_table(history: Sequence[tuple[int, str, str, float]]) -> pa.Table:
    """Training curve ``epoch:int32, split:string, metric:string, value:float64`` (zero rows for
    closed-form models)."""
    cols = list(zip(*history)) if len(history) else [[], [], [], []]
    return pa.Table.from_arrays([pa.array(list(c), type=f.type) for c, f in zip(cols, HISTORY_SCHEMA)],
                                schema=HISTORY_SCHEMA)


class UnknownItem(KeyError):
    """A name in a new-listener profile is not in the catalogue."""


def favourite_plays(matrix: sp.csr_matrix) -> float:
    """The play count given to a liked name without one: the 90th percentile of the stored play
    counts of ``matrix`` (users x items), i.e. a heavily played item; 1 for an empty matrix.

    >>> round(favourite_plays(sp.csr_matrix(np.array([[1.0, 0.0], [3.0, 51.0]]))), 6)
    41.4
    """
    data = sp.csr_matrix(matrix).data
    return float(np.percentile(data, 90)) if len(data) else 1.0


def profiles_matrix(
    profiles: Mapping[str, Sequence[str] | Mapping[str, float]], items: np.ndarray,
    default_plays: float, key: str = "models.new_users",
) -> tuple[list[str], sp.csr_matrix]:
    """Rows of play counts (n_profiles x n_items, float32) for named new-listener profiles.

    A profile is a list of item names (each counted ``default_plays`` times) or a mapping
    name -> play count. Names match exactly, else case-insensitively; an unknown name raises
    :class:`UnknownItem` naming ``key.<profile>`` and the closest catalogue names.
    """
    exact = {str(n): i for i, n in enumerate(items)}
    lower: dict[str, int] = {}
    for i, n in enumerate(items):
        lower.setdefault(str(n).casefold(), i)
    names, rows, cols, vals = [], [], [], []
    for r, (profile, favourites) in enumerate(profiles.items()):
        names.append(str(profile))
        pairs = (favourites.items() if isinstance(favourites, Mapping)
                 else ((f, default_plays) for f in favourites))
        for name, plays in pairs:
            idx = exact.get(str(name), lower.get(str(name).casefold()))
            if idx is None:
                close = difflib.get_close_matches(str(name), list(exact), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise UnknownItem(f"{key}.{profile}: unknown name {name!r}{hint}")
            if not plays or float(plays) <= 0:
                raise ValueError(f"{key}.{profile}.{name}: play count must be > 0, got {plays!r}")
            rows.append(r)
            cols.append(idx)
            vals.append(float(plays))
    X = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)),
                      shape=(len(names), len(items)), dtype=np.float32)
    X.sum_duplicates()
    return names, X


def new_users_table(profiles: list[str], ids: np.ndarray, scores: np.ndarray,
                    items: np.ndarray) -> pd.DataFrame:
    """``profile:string, rank:int16, item_idx:int32, item:string, score:float32``."""
    rows, ranks, item, score = _ranked(ids, scores)
    return pd.DataFrame({
        "profile": pd.array(np.asarray(profiles, dtype=object)[rows], dtype="string"),
        "rank": pd.array(ranks, dtype="int16"),
        "item_idx": pd.array(item, dtype="int32"),
        "item": pd.array(items[item], dtype="string"),
        "score": pd.array(score, dtype="float32"),
    })
