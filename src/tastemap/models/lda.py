"""LDA as a recommender: ``score(u, i) = sum_t theta_ut * phi_ti``.

The score is the probability LDA gives to user ``u`` drawing item ``i`` next: the user's topic
mixture ``theta_u`` (from their played items) times each topic's item distribution ``phi_t``.
New users are folded in by inferring ``theta`` from their rows with the topics fixed
(scikit-learn's ``transform``), no refit. Fitting, count transform and the topic tables live in
:mod:`tastemap.topics`; the topics stage saves this same class as ``model.npz``.
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from tastemap.matrices import sample_rows
from tastemap.models.base import Recommender, register
from tastemap.topics import fit_lda, topic_item_matrix, transform_counts

logger = logging.getLogger(__name__)


@register("lda")
class LDA(Recommender):
    """Latent Dirichlet allocation (scikit-learn, batch variational Bayes) as a recommender.

    Parameters
    ----------
    k
        Number of topics.
    counts
        How play counts become word counts: ``raw``, ``binary`` or ``log`` (``log2(1 + plays)``),
        see :func:`tastemap.topics.transform_counts`.
    doc_topic_prior, topic_word_prior
        Dirichlet priors (``None``: scikit-learn's ``1 / k``).
    max_iter
        Passes of batch variational EM.
    n_init
        Restarts from different seeds; the one with the lowest training perplexity is kept
        (see :func:`tastemap.topics.fit_lda`).
    random_state
        Seed of the variational initialisation (and of the user sample).
    max_users
        Fit the topics on a seeded random sample of at most this many users, then infer every
        user's mixture with the topics fixed (``None``: fit on every user).

    Attributes (after ``fit``)
    --------------------------
    lda_ : sklearn.decomposition.LatentDirichletAllocation
    theta_ / user_factors : (n_users, k) user-topic distributions, rows sum to 1
    phi_ : (k, n_items) topic-item distributions, rows sum to 1
    item_factors : (n_items, k) = ``phi_.T``, so ``similar_items`` compares items by their
        probability under each topic (cosine)
    """

    def __init__(
        self, k: int = 8, counts: str = "log", doc_topic_prior: float | None = None,
        topic_word_prior: float | None = None, max_iter: int = 10, n_init: int = 1,
        random_state: int = 0, max_users: int | None = None,
    ):
        self.k = k
        self.counts = counts
        self.doc_topic_prior = doc_topic_prior
        self.topic_word_prior = topic_word_prior
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state
        self.max_users = max_users

    def transform(self, plays: sp.csr_matrix) -> sp.csr_matrix:
        """Play counts (users x items) -> the word counts this model learns from."""
        return transform_counts(plays, self.counts)

    def fit(self, train: sp.csr_matrix) -> "LDA":
        """Fit ``k`` topics on ``train`` (users x items play counts)."""
        self._set_seen(train)
        X = self.transform(train)
        sample = sample_rows(X.shape[0], self.max_users, int(self.random_state))
        if len(sample) < X.shape[0]:
            logger.info("LDA: topics fit on a sample of %d of %d users (max_users)", len(sample),
                        X.shape[0])
        self.lda_ = fit_lda(
            X[sample], int(self.k), int(self.random_state), doc_topic_prior=self.doc_topic_prior,
            topic_word_prior=self.topic_word_prior, max_iter=int(self.max_iter),
            n_init=int(self.n_init),
        )
        self.theta_ = self.lda_.transform(X)
        self.phi_ = topic_item_matrix(self.lda_)
        self.history_ = [(int(self.lda_.n_iter_), "train", "perplexity", float(self.lda_.bound_))]
        return self

    @property
    def user_factors(self) -> np.ndarray:
        return self.theta_

    @property
    def item_factors(self) -> np.ndarray:
        return self.phi_.T

    def fold_in(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Topic mixtures ``(n_new, k)`` of new users from their play rows, topics fixed."""
        return self.lda_.transform(self.transform(user_items))

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.theta_[user_idx] @ self.phi_

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.theta_, self.phi_.T

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return self.fold_in(user_items) @ self.phi_
