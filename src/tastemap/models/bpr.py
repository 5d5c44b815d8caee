"""Bayesian Personalised Ranking (Rendle et al. 2009) by implicit's Hogwild SGD.

Determinism: implicit's BPR runs lock-free SGD over several threads, whose interleaving changes
the result from run to run. With ``deterministic=True`` (config ``models.bpr.deterministic``,
default) it runs on one thread, and the same seed gives the same factors; set it to false to use
the rule's threads and accept run-to-run noise.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import ImplicitFactors, Recommender, register
from tastemap.models.knn import weigh

logger = logging.getLogger(__name__)


@register("bpr")
class BPR(ImplicitFactors, Recommender):
    """Parameters
    ----------
    factors, learning_rate, regularization, iterations
        As in ``implicit.bpr.BayesianPersonalizedRanking`` (plays are used as binary likes).
    verify_negative_samples
        Resample a negative item the user has played (implicit's option).
    deterministic
        Train single-threaded so that the seed fixes the result (see the module docstring).
    random_state
        Seed of the initial factors and of the SGD sampling.

    Attributes (after ``fit``): ``user_factors_`` (n_users, factors + 1; last column 1),
    ``item_factors_`` (n_items, factors + 1; last column = item bias), ``history_`` (training
    AUC per epoch: the fraction of sampled (positive, negative) pairs already ranked right),
    ``threads_`` (implicit's threads of the fit).
    """

    sweep_prefixes = {"factors": "f", "learning_rate": "lr", "regularization": "r",
                      "iterations": "i"}
    folds_in = True
    has_factors = True
    has_loss_curve = True
    similar_by = "cosine of item factors"
    scoring = "dot"

    def __init__(self, factors: int = 64, learning_rate: float = 0.01,
                 regularization: float = 0.1, iterations: int = 100,
                 verify_negative_samples: bool = True, deterministic: bool = True,
                 random_state: int = 0):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.verify_negative_samples = verify_negative_samples
        self.deterministic = deterministic
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> "BPR":
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self._set_train(train)
        likes = self.seen  # plays as binary likes
        threads = 1 if self.deterministic else self.num_threads
        model = BayesianPersonalizedRanking(
            factors=self.factors, learning_rate=self.learning_rate,
            regularization=self.regularization, iterations=self.iterations,
            verify_negative_samples=self.verify_negative_samples, num_threads=threads,
            random_state=int(self.random_state),
        )
        self.history_ = []
        self.threads_ = threads
        total = likes.nnz
        start = time.monotonic()
        logger.info("BPR: %d x %d, %d likes, %d threads", *likes.shape, total, threads)

        def progress(epoch, elapsed, correct, skipped):
            auc = correct / max(1, total - skipped)
            self.history_.append((epoch + 1, "train", "auc", float(auc)))
            if epoch + 1 == self.iterations or (epoch + 1) % 10 == 0:
                logger.info("BPR epoch %d/%d: train AUC %.4f, skipped %.1f%% (%.1f s)", epoch + 1,
                            self.iterations, auc, 100 * skipped / max(1, total),
                            time.monotonic() - start)

        model.fit(likes, show_progress=False, callback=progress)
        self._keep_factors(model)
        return self

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Fold-in without retraining: a new user's vector is the log-play-weighted mean of the
        factors of the items they played (BPR has no closed-form user update; implicit's BPR has
        no ``recalculate_user``), with the bias column kept at 1."""
        W = weigh(user_items, "log")
        sums = np.asarray(W.sum(axis=1)).ravel()
        sums[sums == 0] = 1.0
        users = np.asarray(W @ self.item_factors) / sums[:, None]
        users[:, -1] = 1.0
        return users @ self.item_factors.T
