"""Ranking metrics of top-k recommendation lists, vectorised over all users.

Orientation: matrices are **users x items** CSR (row = ``user_idx``, column = item index).
A recommendation table is turned into a dense ``(n_users, K)`` int array of item ids, best
first, padded with ``-1``; the test matrix gives the relevant items of each user. Every per-user
metric is then a few array operations on the ``(n_eval_users, K)`` boolean hit matrix: no Python
loop over users.

Definitions (``T_u`` = test items of user ``u``, ``rel_r`` = 1 when the item at rank ``r`` is
in ``T_u``; a padded slot is never relevant):

- ``precision@k = sum_{r<=k} rel_r / k``
- ``recall@k = sum_{r<=k} rel_r / |T_u|``
- ``ndcg@k = DCG@k / IDCG@k`` with ``DCG@k = sum_{r<=k} rel_r / log2(r + 1)`` and
  ``IDCG@k = sum_{r=1}^{min(k, |T_u|)} 1 / log2(r + 1)``
- ``map@k = sum_{r<=k} rel_r * precision@r / min(k, |T_u|)``
- ``mrr@K = 1 / (first relevant rank r <= K)``, 0 when none; ``K`` = the longest cut-off
- ``hitrate@k = 1`` if any ``rel_r = 1`` for ``r <= k``, else 0
- ``novelty@k`` = mean over the user's (non-padded) top-k items of ``-log2 p(i)``,
  ``p(i) = max(n_i, 1) / U``, ``n_i`` = training users of item ``i``, ``U`` = users with at
  least one training item; NaN for a user with no recommended item
- ``coverage@k`` (catalogue level, not per user) = distinct items in the evaluated users' top-k
  lists / number of items
- ``trecall@k = sum_{r<=k} rel_r / min(k, |T_u|)`` (held-out users only, the Recall@k of
  Liang et al. 2018 and Steck 2019: :func:`truncated_recall`)
- ``rmse`` (rating models) = ``sqrt(mean_{i in T_u} (pred(u, i) - log(1 + plays(u, i)))^2)``

Against the papers. ``recall@k`` (over *all* of the user's test items) and ``map@k`` (normalised
by ``min(k, |T_u|)``) are the REC@k and MAP@k of Ferrari Dacrema et al. (TOIS 2021; the
``recall`` and ``average_precision`` functions of their ``Base/Evaluation/metrics.py``), so
their tables and tastemap's leaderboards use the same names for the same numbers (see
:func:`ranking_metrics` for a hand-computed case, and ``docs/reproductions.md``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: per-user ranking metrics computed for every cut-off k (``mrr`` only at the longest k).
RANK_METRICS = ("precision", "recall", "ndcg", "map", "hitrate")


def metric_names(ks: Sequence[int]) -> list[str]:
    """Names of the per-user ranking metrics for cut-offs ``ks`` (e.g. ``ndcg@10``).

    >>> metric_names([10, 20])[:3]
    ['precision@10', 'recall@10', 'ndcg@10']
    """
    ks = sorted(set(int(k) for k in ks))
    names = [f"{m}@{k}" for k in ks for m in RANK_METRICS]
    names.append(f"mrr@{ks[-1]}")
    names += [f"novelty@{k}" for k in ks]
    return names


def rec_matrix(
    recs: pd.DataFrame, n_users: int, n_items: int, k: int, source: str = "recommendations",
    min_ranks: int | None = None,
) -> np.ndarray:
    """Dense ``(n_users, k)`` int32 item ids from a long recommendation table, best first.

    Parameters
    ----------
    recs : DataFrame with columns ``user_idx``, ``rank`` (1-based), ``item_idx`` (``-1`` = pad).
    n_users, n_items : shape of the users x items matrices.
    k : number of ranks kept. Ranks beyond ``k`` are dropped; missing ranks and users absent
        from the table are ``-1``.
    source : name used in error messages (the file the table came from).
    min_ranks : the longest list must reach at least this rank (default ``k``); a shorter table
        was written with too small a top-k for the evaluation's cut-offs.
    """
    for col in ("user_idx", "rank", "item_idx"):
        if col not in recs.columns:
            raise ValueError(f"{source}: missing column {col!r}")
    users = recs["user_idx"].to_numpy(np.int64)
    ranks = recs["rank"].to_numpy(np.int64)
    items = recs["item_idx"].to_numpy(np.int64)
    if len(recs):
        if users.min() < 0 or users.max() >= n_users:
            raise ValueError(f"{source}: user_idx outside [0, {n_users})")
        if ranks.min() < 1:
            raise ValueError(f"{source}: rank must be 1-based, found {ranks.min()}")
        if items.min() < -1 or items.max() >= n_items:
            raise ValueError(f"{source}: item_idx outside [-1, {n_items})")
        need = k if min_ranks is None else min(k, min_ranks)
        if ranks.max() < need:
            raise ValueError(
                f"{source}: holds at most {ranks.max()} ranks per user, evaluation needs "
                f"k = {k} (evaluate.ks)"
            )
    keep = ranks <= k
    users, ranks, items = users[keep], ranks[keep], items[keep]
    flat = users * k + (ranks - 1)
    if len(np.unique(flat)) != len(flat):
        raise ValueError(f"{source}: duplicate (user_idx, rank) rows")
    out = np.full(n_users * k, -1, dtype=np.int32)
    out[flat] = items
    return out.reshape(n_users, k)


def _sorted_keys(matrix: sp.csr_matrix) -> np.ndarray:
    """``row * n_cols + col`` of every stored entry, ascending."""
    m = sp.csr_matrix(matrix)
    m.sort_indices()
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    return rows * m.shape[1] + m.indices.astype(np.int64)


def in_matrix(items: np.ndarray, matrix: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    """Whether ``matrix[users[a], items[a, r]]`` is stored, for every slot (``-1`` -> False).

    Parameters
    ----------
    items : ``(n, K)`` int item ids, ``-1`` for padding.
    matrix : users x items CSR.
    users : ``(n,)`` row of ``matrix`` for each row of ``items``.

    Returns
    -------
    ``(n, K)`` bool. One ``searchsorted`` over the sorted (row, col) keys of the stored
    entries: O(n K log nnz), no per-user loop.
    """
    sub = sp.csr_matrix(matrix)[np.asarray(users)]
    keys = _sorted_keys(sub)
    n_cols = matrix.shape[1]
    valid = items >= 0
    query = np.arange(items.shape[0], dtype=np.int64)[:, None] * n_cols + items.astype(np.int64)
    if len(keys) == 0:
        return np.zeros(items.shape, dtype=bool)
    pos = np.searchsorted(keys, query)
    found = keys[np.minimum(pos, len(keys) - 1)] == query
    return found & valid


def ranking_metrics(hits: np.ndarray, n_relevant: np.ndarray, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-user Precision, Recall, nDCG, MAP, HitRate at every k, and MRR at the longest k.

    Parameters
    ----------
    hits : ``(n_users, K)`` bool, ``hits[u, r-1]`` = the item at rank ``r`` is relevant;
        ``K >= max(ks)``.
    n_relevant : ``(n_users,)`` number of test items ``|T_u|`` (>= 1).
    ks : cut-offs.

    Returns
    -------
    ``{"precision@10": (n_users,) float64, ...}`` in the order of ``metric_names`` (without
    novelty). Definitions in the module docstring.

    Examples
    --------
    >>> m = ranking_metrics(np.array([[False, True, True]]), np.array([4]), [3])
    >>> round(float(m["map@3"][0]), 6)  # (1/2 + 2/3) / min(3, 4)
    0.388889

    A user with test items {1, 4, 7} and the list [4, 2, 7, 9, 5]: hits at ranks 1 and 3.
    Dacrema et al.'s REC@5 = 2 / 3 (all test items), MAP@5 = (1/1 + 2/3) / min(5, 3); at k = 2,
    REC@2 = 1 / 3 and MAP@2 = (1/1) / min(2, 3):

    >>> hits = np.isin([[4, 2, 7, 9, 5]], [1, 4, 7])
    >>> m = ranking_metrics(hits, np.array([3]), [2, 5])
    >>> [round(float(m[name][0]), 6) for name in ("recall@2", "map@2", "recall@5", "map@5")]
    [0.333333, 0.5, 0.666667, 0.555556]
    """
    hits = np.asarray(hits, dtype=bool)
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    if np.any(n_rel < 1):
        raise ValueError("every evaluated user needs at least one test item")
    ks = sorted(set(int(k) for k in ks))
    if ks[-1] > hits.shape[1]:
        raise ValueError(f"k = {ks[-1]} exceeds the {hits.shape[1]} ranks given")
    h = hits[:, : ks[-1]].astype(np.float64)
    ranks = np.arange(1, h.shape[1] + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    cum_hits = np.cumsum(h, axis=1)
    cum_dcg = np.cumsum(h * discount, axis=1)
    cum_ideal = np.cumsum(discount)
    # precision@r at each relevant rank, summed up to k: the numerator of AP@k
    cum_ap = np.cumsum(h * cum_hits / ranks, axis=1)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        n_hit = cum_hits[:, k - 1]
        denom = np.minimum(k, n_rel)
        out[f"precision@{k}"] = n_hit / k
        out[f"recall@{k}"] = n_hit / n_rel
        out[f"ndcg@{k}"] = cum_dcg[:, k - 1] / cum_ideal[denom.astype(np.int64) - 1]
        out[f"map@{k}"] = cum_ap[:, k - 1] / denom
        out[f"hitrate@{k}"] = (n_hit > 0).astype(np.float64)
    first = np.argmax(h > 0, axis=1)
    any_hit = h.any(axis=1)
    out[f"mrr@{ks[-1]}"] = np.where(any_hit, 1.0 / (first + 1.0), 0.0)
    return out


def truncated_recall(hits: np.ndarray, n_relevant: np.ndarray, ks: Sequence[int]
                     ) -> dict[str, np.ndarray]:
    """Per-user ``trecall@k = sum_{r<=k} rel_r / min(k, |T_u|)`` for every k: the Recall@k of
    the held-out-users protocol of Liang et al. (WWW 2018, Mult-VAE, section 4.2) and Steck
    (WWW 2019, EASE), which reaches 1 when every slot of the list holds a relevant item.

    >>> hits = np.array([[True, False, True, False]])
    >>> {k: round(float(v[0]), 6) for k, v in truncated_recall(hits, np.array([10]), [2, 4]).items()}
    {'trecall@2': 0.5, 'trecall@4': 0.5}
    """
    hits = np.asarray(hits, dtype=bool)
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    cum_hits = np.cumsum(hits, axis=1, dtype=np.float64)
    return {f"trecall@{k}": cum_hits[:, k - 1] / np.minimum(k, n_rel)
            for k in sorted(set(int(k) for k in ks))}


def item_popularity(train: sp.csr_matrix) -> tuple[np.ndarray, int]:
    """Training users per item ``n_i`` (``(n_items,)`` int64) and users with >= 1 item ``U``."""
    t = sp.csr_matrix(train, copy=True)
    t.eliminate_zeros()
    n_i = np.bincount(t.indices, minlength=t.shape[1]).astype(np.int64)
    n_users = int(np.count_nonzero(np.diff(t.indptr)))
    return n_i, n_users


def novelty(items: np.ndarray, train: sp.csr_matrix, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-user mean self-information ``-log2 p(i)`` of the top-k items, for every k.

    ``p(i) = max(n_i, 1) / U`` with ``n_i`` training users of item ``i`` and ``U`` users with a
    training item (an item no one trained on counts as played once). Padded slots (``-1``) are
    skipped; a user without any recommended item gets NaN.

    Parameters
    ----------
    items : ``(n_users, K)`` recommended item ids, ``-1`` padding.
    train : users x items training matrix (popularity).
    """
    n_i, n_users = item_popularity(train)
    info = -np.log2(np.maximum(n_i, 1) / max(n_users, 1))
    valid = items >= 0
    bits = np.where(valid, info[np.where(valid, items, 0)], 0.0)
    cum_bits = np.cumsum(bits, axis=1)
    cum_n = np.cumsum(valid, axis=1)
    out = {}
    for k in sorted(set(int(k) for k in ks)):
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"novelty@{k}"] = np.where(cum_n[:, k - 1] > 0, cum_bits[:, k - 1] / cum_n[:, k - 1], np.nan)
    return out


def coverage(items: np.ndarray, n_items: int, ks: Sequence[int]) -> dict[str, float]:
    """Catalogue coverage@k: distinct recommended items in the top-k lists of the given users,
    divided by ``n_items``.

    >>> coverage(np.array([[0, 1], [1, -1]]), 4, [1, 2])
    {'coverage@1': 0.5, 'coverage@2': 0.5}
    """
    out = {}
    for k in sorted(set(int(k) for k in ks)):
        top = items[:, :k]
        out[f"coverage@{k}"] = float(len(np.unique(top[top >= 0])) / n_items)
    return out


def rmse_per_user(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray], test: sp.csr_matrix, users: np.ndarray,
    batch: int = 1_000_000,
) -> np.ndarray:
    """Per-user RMSE of predicted ``log(1 + plays)`` on the held-out play counts.

    Parameters
    ----------
    predict : ``predict(user_idx, item_idx) -> (n,)`` predicted log(1 + plays).
    test : users x items held-out play counts.
    users : ``(n_users,)`` rows to score (each with >= 1 stored entry).
    batch : entries predicted per call.

    Returns
    -------
    ``(n_users,)`` float64.
    """
    sub = sp.csr_matrix(test)[np.asarray(users)]
    sub.eliminate_zeros()
    counts = np.diff(sub.indptr)
    if np.any(counts == 0):
        raise ValueError("rmse_per_user: a user without test entries was given")
    rows = np.repeat(np.arange(len(users)), counts)
    user_of_entry = np.asarray(users)[rows]
    target = np.log1p(sub.data.astype(np.float64))
    pred = np.empty(len(target), dtype=np.float64)
    for start in range(0, len(target), batch):
        stop = start + batch
        pred[start:stop] = np.asarray(
            predict(user_of_entry[start:stop], sub.indices[start:stop]), dtype=np.float64
        )
    sq = np.bincount(rows, weights=(pred - target) ** 2, minlength=len(users))
    return np.sqrt(sq / counts)


def evaluate_recommendations(
    recs: pd.DataFrame, train: sp.csr_matrix, test: sp.csr_matrix, ks: Sequence[int],
    source: str = "recommendations", check_train: bool = True,
    extra: Callable[[np.ndarray, np.ndarray], tuple[dict, dict]] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every per-user metric of one model's recommendation table on one split.

    Parameters
    ----------
    recs : long table ``user_idx, rank, item_idx`` (see ``rec_matrix``), >= max(ks) ranks/user.
    train, test : users x items CSR of the same shape; evaluated users = rows of ``test`` with
        at least one stored entry.
    ks : cut-offs.
    source : file name used in error messages.
    check_train : raise if a recommended item is in the user's training row (it must have been
        excluded by the model).
    extra : more metrics of the same lists: ``extra(items, users)`` (the ``(n_eval_users, K)``
        item ids and their rows) returns per-user values and catalogue values, added to both
        (e.g. the popularity metrics of :mod:`tastemap.evaluate.bias`).

    Returns
    -------
    (per_user, catalogue): ``per_user`` is a wide frame, one row per evaluated user
    (``user_idx`` then one float64 column per metric of ``metric_names(ks)``); ``catalogue`` maps
    ``coverage@k`` to its value.
    """
    if train.shape != test.shape:
        raise ValueError(f"train {train.shape} and test {test.shape} differ in shape")
    n_users, n_items = test.shape
    k_max = max(int(k) for k in ks)
    test = sp.csr_matrix(test, copy=True)
    test.eliminate_zeros()
    users = np.flatnonzero(np.diff(test.indptr))
    # a complete table reaches rank k_max unless even the user with the fewest training items
    # has fewer candidates than that
    train_rows = np.diff(sp.csr_matrix(train).indptr)
    candidates = n_items - int(train_rows.min()) if n_users else 0
    items = rec_matrix(recs, n_users, n_items, k_max, source, min_ranks=candidates)[users]
    if check_train:
        seen = in_matrix(items, train, users)
        if seen.any():
            a, r = np.argwhere(seen)[0]
            raise ValueError(
                f"{source}: {int(seen.sum())} recommended items are training items of their user "
                f"(first: user_idx {users[a]}, rank {r + 1}, item_idx {items[a, r]}); "
                "training items must be excluded"
            )
    hits = in_matrix(items, test, users)
    n_rel = np.diff(test.indptr)[users]
    values = ranking_metrics(hits, n_rel, ks)
    values.update(novelty(items, train, ks))
    catalogue = coverage(items, n_items, ks)
    if extra is not None:
        more, more_catalogue = extra(items, users)
        values.update(more)
        catalogue.update(more_catalogue)
    per_user = pd.DataFrame({"user_idx": users.astype(np.int32), **values})
    return per_user, catalogue


def to_long(per_user: pd.DataFrame, **keys: object) -> pd.DataFrame:
    """Wide per-user metrics (``user_idx`` + one column per metric) to the long layout
    ``<keys...>, user_idx, metric, value`` of ``per_user.parquet``; ``keys`` (e.g. ``model``,
    ``variant``) become constant columns: categorical for strings, int32 for integers."""
    long = per_user.melt(id_vars="user_idx", var_name="metric", value_name="value")
    long["metric"] = long["metric"].astype("category")
    long["value"] = long["value"].astype(np.float64)
    zeros = np.zeros(len(long), dtype=np.int8)
    for i, (name, value) in enumerate(keys.items()):
        if isinstance(value, (int, np.integer)):
            col = np.full(len(long), value, dtype=np.int32)
        else:
            col = pd.Categorical.from_codes(zeros, categories=[str(value)])
        long.insert(i, name, col)
    return long
