"""LDA as a recommender: ``score(u, i) = sum_t theta_ut * phi_ti``.

The score is the probability LDA gives to user ``u`` drawing item ``i`` next: the user's topic
mixture ``theta_u`` (from their played items) times each topic's item distribution ``phi_t``.
New users are folded in by inferring ``theta`` from their rows with the topics fixed
(scikit-learn's ``transform``), no refit. Fitting, count transform and the topic tables live in
:mod:`tastemap.topics.model`; the topics stage saves this same class as ``model.npz``.

Saved without pickle: the fitted scikit-learn model is kept as its arrays (``components_``,
``exp_dirichlet_component_``) and priors, and rebuilt on demand (``lda_``) for fold-in.
"""
from __future__ import annotations

import inspect
import logging

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import Recommender, register
from tastemap.models.params import Param
from tastemap.models.space import Choice, Int

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
        see :func:`tastemap.topics.model.transform_counts`.
    doc_topic_prior, topic_word_prior
        Dirichlet priors (``None``: scikit-learn's ``1 / k``).
    max_iter
        Passes of batch variational EM.
    n_init
        Restarts from different seeds; the one with the lowest training perplexity is kept
        (see :func:`tastemap.topics.model.fit_lda`).
    random_state
        Seed of the variational initialisation (and of the user sample).
    max_users
        Fit the topics on a seeded random sample of at most this many users, then infer every
        user's mixture with the topics fixed (``None``: fit on every user).

    Attributes (after ``fit``)
    --------------------------
    theta_ / user_factors : (n_users, k) user-topic distributions, rows sum to 1
    phi_ : (k, n_items) topic-item distributions, rows sum to 1
    item_factors : (n_items, k) = ``phi_.T``, so ``similar_items`` compares items by their
        probability under each topic (cosine)
    components_, exp_dirichlet_component_ : (k, n_items) scikit-learn's fitted arrays;
    doc_topic_prior_, topic_word_prior_, n_iter_, bound_ : its fitted scalars
    lda_ : the fitted scikit-learn estimator (:class:`tastemap.topics.estep.CompiledLDA`, a
        ``LatentDirichletAllocation``) rebuilt from those (a property)
    """

    description = (
        "LDA as a recommender: score(u, i) = sum_t theta_ut phi_ti (the probability of the user "
        "playing item i next); new users are folded in by inferring theta with the topics fixed. "
        "Fitted by the models stage like every recommender "
        "(models/<entity>/lda/k<k>/seed<seed>/<fit>/) and ranked by the evaluation. Independent of"
        " the topics section (whose k list makes the topic tables and maps).")
    hyperparameters = {
        "k": Param(
            "Topic counts. Its own list, not topics.k: topics are read best at a few, "
            "recommendations usually gain from more.",
            sweep="k", minimum=2, grid=(8, 32)),
        "counts": Param(
            "What LDA counts as words (see topics.counts).",
            sweep="c", choices=("log", "binary", "raw")),
        "max_iter": Param("Passes of batch variational EM per restart.", sweep="i", minimum=1),
        "n_init": Param(
            "Restarts; the lowest training perplexity is kept (see topics.n_init).",
            minimum=1),
        "doc_topic_prior": Param(
            "Dirichlet prior of the user-topic mixtures; null = 1/k.",
            exclusive_minimum=0),
        "topic_word_prior": Param(
            "Dirichlet prior of the topic-item distributions; null = 1/k.",
            exclusive_minimum=0),
        "max_users": Param(
            "Fit the topics on a seeded random sample of at most this many users, then infer every"
            " user's mixture (see topics.max_users); null = all users.",
            minimum=10),
    }
    search_space = {"k": Int(4, 64, log=True), "counts": Choice(("log", "binary"))}
    folds_in = True
    has_factors = True
    similar_by = "cosine of item topic probabilities"
    scoring = "dot"
    multithreaded = False  # scikit-learn LDA with n_jobs=1
    _lda = None

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
        from tastemap.topics.model import transform_counts

        return transform_counts(plays, self.counts)

    def fit(self, train: sp.csr_matrix) -> LDA:
        """Fit ``k`` topics on ``train`` (users x items play counts)."""
        from tastemap.data.matrices import sample_rows
        from tastemap.topics.model import fit_lda, topic_item_matrix

        X = self.transform(self._set_train(train))
        sample = sample_rows(X.shape[0], self.max_users, int(self.random_state))
        if len(sample) < X.shape[0]:
            logger.info("LDA: topics fit on a sample of %d of %d users (max_users)", len(sample),
                        X.shape[0])
        lda = fit_lda(
            X[sample], int(self.k), int(self.random_state), doc_topic_prior=self.doc_topic_prior,
            topic_word_prior=self.topic_word_prior, max_iter=int(self.max_iter),
            n_init=int(self.n_init),
        )
        self.components_ = lda.components_
        self.exp_dirichlet_component_ = lda.exp_dirichlet_component_
        self.doc_topic_prior_ = float(lda.doc_topic_prior_)
        self.topic_word_prior_ = float(lda.topic_word_prior_)
        self.n_iter_ = int(lda.n_iter_)
        self.bound_ = float(lda.bound_)
        self._lda = lda
        self.theta_ = lda.transform(X)
        self.phi_ = topic_item_matrix(lda)
        self.history_ = [(self.n_iter_, "train", "perplexity", self.bound_)]
        return self

    @property
    def lda_(self):
        """The fitted ``sklearn.decomposition.LatentDirichletAllocation`` (a
        :class:`~tastemap.topics.estep.CompiledLDA`, rebuilt from the saved arrays after ``load``;
        ``transform`` gives the same mixtures as the original)."""
        if self._lda is None:
            from tastemap.topics.estep import CompiledLDA
            from tastemap.topics.model import fit_lda

            lda = CompiledLDA(
                n_components=int(self.k), doc_topic_prior=self.doc_topic_prior,
                topic_word_prior=self.topic_word_prior, learning_method="batch",
                max_iter=int(self.max_iter), n_jobs=1,
                mean_change_tol=inspect.signature(fit_lda).parameters["mean_change_tol"].default,
            )
            lda.components_ = self.components_
            lda.exp_dirichlet_component_ = self.exp_dirichlet_component_
            lda.doc_topic_prior_, lda.topic_word_prior_ = self.doc_topic_prior_, self.topic_word_prior_
            lda.n_iter_, lda.bound_ = self.n_iter_, self.bound_
            lda.n_features_in_ = self.components_.shape[1]
            self._lda = lda
        return self._lda

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
