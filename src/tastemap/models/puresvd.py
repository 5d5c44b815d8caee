"""PureSVD (Cremonesi, Koren & Turrin 2010, "Performance of recommender algorithms on top-N
recommendation tasks", section 3.3.1): the truncated SVD of the users x items matrix, unobserved
entries read as zeros.

As in the reference implementation of Ferrari Dacrema et al. (repository
MaurizioFD/RecSys2019_DeepLearning_Evaluation, file ``MatrixFactorization/PureSVDRecommender.py``,
commit f5618c6): ``U, s, V^T = randomized_svd(X, n_components=factors, random_state=seed)``
(scikit-learn, its default power iterations), user factors ``U diag(s)``, item factors ``V``;
the score of user ``u`` for item ``j`` is ``(U diag(s) V^T)[u, j]``. ``X = w(plays)``
(``weighting``; ``raw`` is the reference's input; the default ``log`` = ``log(1 + plays)``, as
item-kNN, for heavy-tailed play counts: on the validation split of the simulated default
(artists, 50 factors) nDCG@10 was 0.166 raw against 0.222 log).

Beyond the reference (which scores known users only): a new user's row ``r`` is folded in as
``w(r) V V^T``, Cremonesi et al.'s own formulation of the PureSVD score (for an exact SVD,
``X V = U diag(s)``, so a known user's row gives their score); similar items are the cosine of
the rows of ``V``. The reference's seed is ``random_seed`` (None by default: a different
factorisation per run); here it is the model's ``random_state``.
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import Recommender, register
from tastemap.models.knn import weigh
from tastemap.models.params import Param
from tastemap.models.space import Choice, Int

logger = logging.getLogger(__name__)


@register("puresvd")
class PureSVD(Recommender):
    """Truncated SVD of the (weighted) play matrix (see the module docstring).

    Parameters
    ----------
    factors : int
        Singular vectors kept (the reference's ``num_factors``); below the catalogue size.
        Default 50, Cremonesi et al.'s MovieLens setting (the reference's code default is 100;
        the simulated default, with 8 planted genres, prefers about 10).
    weighting : {"log", "binary", "raw"}
        The matrix factorised and the rows folded in (see :func:`weigh`; ``raw`` = the
        reference).
    random_state : int
        Seed of scikit-learn's randomized SVD.

    Attributes (after ``fit``): ``user_factors_`` (n_users x factors, ``U diag(s)``),
    ``item_factors_`` (n_items x factors, ``V``), ``singular_values_`` (factors,).
    """

    description = (
        "PureSVD (Cremonesi et al. 2010): truncated SVD of the users x items matrix "
        "(scikit-learn's randomized_svd, seeded), scores U S V^T; new listeners folded in as r V "
        "V^T (docs/models.md).")
    hyperparameters = {
        "factors": Param(
            "Singular vectors kept (the reference's num_factors), below the catalogue size.",
            sweep="f", minimum=1, grid=True),
        "weighting": Param(
            "The matrix factorised and the rows folded in (log = log(1 + r); raw = the reference).",
            sweep="w", choices=("log", "binary", "raw")),
    }
    search_space = {"factors": Int(4, 512, log=True), "weighting": Choice(("binary", "log"))}
    folds_in = True
    has_factors = True
    similar_by = "cosine of item factors"
    scoring = "dot"

    def __init__(self, factors: int = 50, weighting: str = "log", random_state: int = 0):
        self.factors = factors
        self.weighting = weighting
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> PureSVD:
        from sklearn.utils.extmath import randomized_svd
        from threadpoolctl import threadpool_limits

        X = weigh(self._set_train(train), self.weighting)
        if not 0 < int(self.factors) < min(X.shape):
            raise ValueError(f"factors={self.factors}: use 1 to {min(X.shape) - 1} for a "
                             f"{X.shape[0]} x {X.shape[1]} matrix")
        logger.info("PureSVD (%d factors) of %d x %d, %d plays", self.factors, *X.shape, X.nnz)
        with threadpool_limits(limits=max(1, int(self.num_threads)), user_api="blas"):
            U, s, VT = randomized_svd(X, n_components=int(self.factors),
                                      random_state=int(self.random_state))
        self.user_factors_ = (U * s).astype(np.float32)
        self.item_factors_ = np.ascontiguousarray(VT.T, dtype=np.float32)
        self.singular_values_ = s.astype(np.float32)
        self.history_ = []
        return self

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[user_idx] @ self.item_factors_.T

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.user_factors_, self.item_factors_

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        V = self.item_factors_
        return np.asarray(weigh(user_items, self.weighting) @ V) @ V.T
