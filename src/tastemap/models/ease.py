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
from tastemap.models.params import Param
from tastemap.models.space import Choice, Float

logger = logging.getLogger(__name__)


class TooManyItems(ValueError):
    """The catalogue is too large for a dense items x items model."""


def spd_inverse(G: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix (float32 or float64), computed in
    ``G``'s memory (``G`` is overwritten) by a Cholesky factorisation: LAPACK ``potrf`` and
    ``potri`` of the matrix's precision, through scipy's public ``scipy.linalg.lapack``.

    ``np.linalg.inv`` (LU with pivoting, into a new matrix) costs about twice the arithmetic
    and twice the memory (``benchmarks/ease_fit.py``, docs/benchmarks.md "EASE fit").
    Raises ``np.linalg.LinAlgError`` when the factorisation finds the matrix not positive
    definite.

    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> bool(np.allclose(spd_inverse(A.copy()), np.linalg.inv(A)))
    True
    """
    from scipy.linalg import get_lapack_funcs

    n = G.shape[0]
    if not G.flags.f_contiguous:  # a symmetric C-ordered matrix is its own Fortran transpose
        G = G.T
    potrf, potri = get_lapack_funcs(("potrf", "potri"), (G,))
    c, info = potrf(G, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"not positive definite (LAPACK potrf info {info})")
    inv, info = potri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inverting the Cholesky factor failed (info {info})")
    for start in range(0, n, 1024):  # potri fills the upper triangle: mirror it, by blocks
        stop = min(n, start + 1024)
        inv[stop:, start:stop] = inv[start:stop, stop:].T
        block = inv[start:stop, start:stop]
        block[...] = np.triu(block) + np.triu(block, 1).T
    return inv


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

    description = "EASE (Steck 2019), closed form with a dense items x items matrix."
    hyperparameters = {
        "l2": Param("L2 regularisation.", sweep="l", exclusive_minimum=0, grid=True),
        "weighting": Param(
            "Input of the Gram matrix (Steck uses binary).",
            sweep="w", choices=("binary", "log", "raw")),
        "max_items": Param(
            "Refuse to fit (with an error naming this key) above this many items: memory is about "
            "8 bytes x items^2 x 3.",
            minimum=1),
    }
    search_space = {"l2": Float(1.0, 1e5), "weighting": Choice(("binary", "log"))}
    folds_in = True
    similar_by = "EASE weights B[i, j]"
    #: ``explain``: the played items ``i`` with the largest ``w(r_ui) * B[i, j]``
    explains = True

    def __init__(self, l2: float = 500, weighting: str = "binary", max_items: int = 20000,
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
                f"(~{4 * n_items**2 / 1e9:.1f} GB in float32); the catalogue has more than "
                f"models.ease.max_items={self.max_items} items. Raise models.ease.max_items if "
                "the memory is there, or disable EASE for this entity (models.ease.entities)."
            )
        from threadpoolctl import threadpool_limits

        X = weigh(self._set_train(train), self.weighting)
        logger.info("EASE: Gram matrix of %d items, l2=%g", n_items, self.l2)
        with threadpool_limits(limits=max(1, int(self.num_threads)), user_api="blas"):
            gram = X.T @ X
            try:  # float32, the precision B is kept in: half the memory and time of float64
                P = self._inverse(gram, np.float32)
            except np.linalg.LinAlgError:  # rounding made it indefinite: redo in float64
                logger.info("EASE: float32 Cholesky failed; inverting in float64")
                P = self._inverse(gram, np.float64)
        diag = np.diag(P).copy()
        P /= -diag[None, :]
        P[np.diag_indices(n_items)] = 0.0
        self.B_ = P.astype(np.float32, copy=False)
        self.history_ = []
        return self

    def _inverse(self, gram: sp.spmatrix, dtype: type) -> np.ndarray:
        """``(gram + l2 I)^-1`` as a dense ``dtype`` matrix (:func:`spd_inverse`)."""
        G = gram.toarray().astype(dtype, copy=False)
        G[np.diag_indices(G.shape[0])] += self.l2
        return spd_inverse(G)

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
