"""Most-popular baseline: every user gets the items with the most listeners they have not played."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import Recommender, item_rows, register, top_k_dot
from tastemap.models.params import Param


@register("popularity")
class Popularity(Recommender):
    """Score of item ``j`` = number of distinct users who played it (``by="users"``) or its total
    play count (``by="plays"``), the same for every user.

    ``similar_items`` returns the most popular other items (a baseline for the similar-artist
    lists, not a similarity). ``random_state`` is unused (deterministic), kept for the interface.

    Attributes (after ``fit``): ``popularity_`` (n_items,) float32.
    """

    description = "Most-popular baseline (the same unplayed top items for everyone)."
    hyperparameters = {
        "by": Param(
            "Popularity = distinct listeners (users) or total play count (plays).",
            sweep="by", choices=("users", "plays")),
    }
    folds_in = True
    similar_by = "popularity (the most popular other items; a baseline, not a similarity)"
    scoring = "dot"
    multithreaded = False  # counts its columns

    def __init__(self, by: str = "users", random_state: int = 0):
        self.by = by
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> Popularity:
        if self.by not in ("users", "plays"):
            raise ValueError(f"by={self.by!r}: use users or plays")
        X = self._set_train(train)
        counts = np.bincount(X.indices, minlength=X.shape[1]) if self.by == "users" else \
            np.asarray(X.sum(axis=0, dtype=np.float64))
        self.popularity_ = np.asarray(counts, dtype=np.float32).ravel()
        self.history_ = []
        return self

    def recommend(
        self, user_idx: np.ndarray | None = None, k: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`Recommender.recommend`: one ranking for everyone, minus what each user has
        played (:func:`first_unplayed`); equal scores rank by item index. At MSD size (1.02M users,
        127K songs) this takes a few seconds where scoring the catalogue took 33 s."""
        users = np.arange(self.n_users) if user_idx is None else np.asarray(user_idx)
        order = np.argsort(-self.popularity_, kind="stable").astype(np.int32)
        if exclude_seen:
            ids = first_unplayed(order, self.train[users], k)
        else:
            ids = np.full((len(users), k), -1, np.int32)
            ids[:, : min(k, self.n_items)] = order[:k]
        scores = np.where(ids >= 0, self.popularity_[ids], -np.inf).astype(np.float32)
        return ids, scores

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(user_idx), self.n_items)).copy()

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return self._score(np.arange(user_items.shape[0]))

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        # score = 1 x popularity: the generic recommend path (Popularity.recommend is
        # first_unplayed; tests compare the two)
        return np.ones((self.n_users, 1), np.float32), self.popularity_[:, None]

    def _similar_items(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        item_idx = np.asarray(item_idx)
        return top_k_dot(np.ones((len(item_idx), 1), np.float32), self.popularity_[:, None], k,
                         exclude=item_rows(item_idx, self.n_items))


def first_unplayed(order: np.ndarray, seen: sp.csr_matrix, k: int, horizon: int = 1024
                   ) -> np.ndarray:
    """For each row of ``seen`` (users x items, CSR), the first ``k`` items of ``order`` (every
    item once, best first) that the row does not store; ``-1`` pads rows with fewer left.

    Vectorised over all rows, with no per-user loop and no score matrix: only the stored entries
    among the first ``k + horizon`` items of ``order`` are read. In a row whose played items,
    sorted by rank, are ``p_0 < p_1 < ...``, entry ``j`` has ``p_j - j`` unplayed items before
    it, so the ``i``-th unplayed item is at rank ``i + #{j : p_j - j <= i}``. A row whose ``k``
    answers do not all fall within the horizon (it played nearly all of the top items) is
    recomputed with the whole of ``order``.

    >>> seen = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 1, 1, 1, 0]]))
    >>> first_unplayed(np.array([0, 1, 2, 3, 4]), seen, 3).tolist()
    [[2, 3, 4], [0, 1, 2], [4, -1, -1]]
    """
    seen = sp.csr_matrix(seen)
    if not seen.has_canonical_format:  # duplicates would count as two played items
        seen = seen.copy()
        seen.sum_duplicates()
    n, m = seen.shape
    order = np.asarray(order)
    out = np.full((n, k), -1, np.int32)
    k_eff = min(k, m)
    if n == 0 or k_eff == 0:
        return out
    rank = np.empty(m, np.int64)
    rank[order] = np.arange(m)
    rows, top = np.arange(n), min(m, k_eff + horizon)
    while len(rows):
        sub = seen if len(rows) == n else seen[rows]  # every row on the first pass: no copy
        r = rank[sub.indices]
        row_of = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(sub.indptr))
        keep = r < top
        key = np.sort(row_of[keep] * top + r[keep])  # by row, then by rank
        row_of, r = key // top, key % top
        before = r - (np.arange(len(key)) - np.searchsorted(row_of, row_of))  # p_j - j
        hit = before < k_eff
        counts = np.bincount(row_of[hit] * k_eff + before[hit], minlength=len(rows) * k_eff)
        pos = np.arange(k_eff) + np.cumsum(counts.reshape(len(rows), k_eff), axis=1)
        done = (pos[:, -1] < top) | (top == m)
        found = pos < top
        out[rows[done], :k_eff] = np.where(found[done], order[np.minimum(pos[done], m - 1)], -1)
        rows, top = rows[~done], m
    return out

