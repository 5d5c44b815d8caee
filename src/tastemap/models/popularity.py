"""Most-popular baseline: every user gets the items with the most listeners they have not played."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import Recommender, item_rows, register, top_k_dot


@register("popularity")
class Popularity(Recommender):
    """Score of item ``j`` = number of distinct users who played it (``by="users"``) or its total
    play count (``by="plays"``), the same for every user.

    ``similar_items`` returns the most popular other items (a baseline for the similar-artist
    lists, not a similarity). ``random_state`` is unused (deterministic), kept for the interface.

    Attributes (after ``fit``): ``popularity_`` (n_items,) float32.
    """

    sweep_prefixes = {"by": "by"}
    folds_in = True
    similar_by = "popularity (the most popular other items; a baseline, not a similarity)"
    scoring = "dot"

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

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(user_idx), self.n_items)).copy()

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return self._score(np.arange(user_items.shape[0]))

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        # score = 1 x popularity: recommend's top_k_dot stops after the first tile of popular items
        return np.ones((self.n_users, 1), np.float32), self.popularity_[:, None]

    def _similar_items(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        item_idx = np.asarray(item_idx)
        return top_k_dot(np.ones((len(item_idx), 1), np.float32), self.popularity_[:, None], k,
                         exclude=item_rows(item_idx, self.n_items))
