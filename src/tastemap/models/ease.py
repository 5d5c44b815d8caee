"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): closed form.

``P = (X^T X + l2 I)^-1``, ``B = I - P / diag(P)`` (columns divided), ``diag(B) = 0``; scores
``X_u B``. No library implements it (implicit does not; it is four lines of numpy), so it is
written here. It needs a dense items x items matrix (8 bytes x items^2 while inverting), hence the
``max_items`` guard.
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import Recommender, register, top_k
from tastemap.models.knn import linear_explanations, weigh
from tastemap.models.space import Choice, Float

logger = logging.getLogger(__name__)


class TooManyItems(ValueError):
    """The catalogue is too large for a dense items x items model."""


@register("ease")
class EASE(Recommender):
    """Parameters
    ----------
    l2 : float
        L2 regularisation (Steck uses a few hundred on binary data).
    weighting : {"binary", "log", "raw"}
        Input of the Gram matrix (Steck: binary).
    max_items : int
        Refuse to fit above this many items (config ``models.ease.max_items``).
    random_state : unused (closed form), kept for the interface.

    Attributes (after ``fit``): ``B_`` (n_items x n_items float32, zero diagonal). A user's
    scores are their weighted training row times ``B_`` (the row comes from the training matrix,
    which is not saved with the model).
    """

    sweep_prefixes = {"l2": "l", "weighting": "w"}
    search_space = {"l2": Float(1.0, 1e5), "weighting": Choice(("binary", "log"))}
    folds_in = True
    similar_by = "EASE weights B[i, j]"
    #: ``explain``: the played items ``i`` with the largest ``w(r_ui) * B[i, j]``
    explains = True

    def __init__(self, l2: float = 500.0, weighting: str = "binary", max_items: int = 20000,
                 random_state: int = 0):
        self.l2 = l2
        self.weighting = weighting
        self.max_items = max_items
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> EASE:
        n_items = train.shape[1]
        if n_items > self.max_items:
            raise TooManyItems(
                f"EASE needs a dense {n_items} x {n_items} matrix "
                f"(~{8 * n_items**2 / 1e9:.1f} GB); the catalogue has more than "
                f"models.ease.max_items={self.max_items} items. Raise models.ease.max_items if "
                "the memory is there, or disable EASE for this entity (models.ease.entities)."
            )
        from threadpoolctl import threadpool_limits

        X = weigh(self._set_train(train), self.weighting)
        logger.info("EASE: Gram matrix of %d items, l2=%g", n_items, self.l2)
        with threadpool_limits(limits=max(1, int(self.num_threads)), user_api="blas"):
            G = (X.T @ X).toarray().astype(np.float64)
            G[np.diag_indices(n_items)] += self.l2
            P = np.linalg.inv(G)
        B = P / (-np.diag(P))[None, :]
        B[np.diag_indices(n_items)] = 0.0
        self.B_ = B.astype(np.float32)
        self.history_ = []
        return self

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return np.asarray(weigh(self.train[user_idx], self.weighting) @ self.B_)

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return np.asarray(weigh(user_items, self.weighting) @ self.B_)

    def _similar_items(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Items ``j`` with the largest weight ``B[i, j]`` (how strongly item ``i`` predicts ``j``)."""
        item_idx = np.asarray(item_idx)
        rows = self.B_[item_idx].copy()
        rows[np.arange(len(item_idx)), item_idx] = -np.inf
        return top_k(rows, k)

    def explain(self, user_row: sp.csr_matrix, item_idx: np.ndarray, n: int = 5):
        """Which played items made the score of each item of ``item_idx`` (their weights in
        ``B``), for one play row (1 x n_items): see :func:`linear_explanations`."""
        return linear_explanations(weigh(user_row, self.weighting), self.B_, item_idx, n)
