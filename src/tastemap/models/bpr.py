"""Bayesian Personalised Ranking (Rendle et al. 2009) by implicit's Hogwild SGD.

Negatives and the popularity correction: implicit 0.7.3 draws each negative as the item of a
random stored entry (``disliked_id = itemids[rng.generate()]`` in ``implicit/cpu/bpr.pyx``), i.e.
in proportion to the item's listeners ``n_j``, not uniformly as in Rendle et al. An item is then
a negative as often as it is a positive, so the item bias cannot learn popularity and the longer
the model trains, the more its ranking turns against popular items: on MovieLens 100K (validation
split) nDCG@10 fell from 0.177 after 100 epochs to 0.121 after 300, below the popularity baseline
at 0.03 learning rate. As the logQ correction of sampled softmax (Yi et al. 2019) puts the
log-probability of the sampling distribution back, tastemap scores
``x_u . y_j + log n_j`` (``log_listeners_``, the log of each item's training listeners; items
without any get the lowest value): 0.256 after 100 epochs there, against 0.268 for the best
EASE (docs/quality.md). ``item_factors`` (similar items, maps) stay implicit's own.

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
from tastemap.models.space import Float, Int

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
    ``item_factors_`` (n_items, factors + 1; last column = item bias), ``log_listeners_``
    (n_items,) added to every score (module docstring), ``history_`` (training AUC per epoch:
    the fraction of sampled (positive, negative) pairs already ranked right), ``threads_``
    (implicit's threads of the fit).
    """

    sweep_prefixes = {"factors": "f", "learning_rate": "lr", "regularization": "r",
                      "iterations": "i"}
    search_space = {"factors": Int(16, 256, log=True), "learning_rate": Float(0.001, 0.3),
                    "regularization": Float(1e-5, 0.3), "iterations": Int(20, 300, log=True)}
    folds_in = True
    has_factors = True
    has_loss_curve = True
    similar_by = "cosine of item factors"
    scoring = "dot"

    def __init__(self, factors: int = 64, learning_rate: float = 0.01,
                 regularization: float = 0.01, iterations: int = 100,
                 verify_negative_samples: bool = True, deterministic: bool = True,
                 random_state: int = 0):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.verify_negative_samples = verify_negative_samples
        self.deterministic = deterministic
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> BPR:
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

        self._fit_implicit(model, likes, progress)
        self._keep_factors(model)
        self.log_listeners_ = log_listeners(likes)
        return self

    def _scored_items(self) -> np.ndarray:
        """Item factors with ``log n_j`` added to the bias column (users have 1 there)."""
        items = np.array(self.item_factors, dtype=np.float32)
        items[:, -1] += self.log_listeners_
        return items

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors[user_idx] @ self._scored_items().T

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.user_factors, self._scored_items()

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Fold-in without retraining: a new user's vector is the log-play-weighted mean of the
        factors of the items they played (BPR has no closed-form user update; implicit's BPR has
        no ``recalculate_user``), with the bias column kept at 1."""
        W = weigh(user_items, "log")
        sums = np.asarray(W.sum(axis=1)).ravel()
        sums[sums == 0] = 1.0
        users = np.asarray(W @ self.item_factors) / sums[:, None]
        users[:, -1] = 1.0
        return users @ self._scored_items().T


def log_listeners(seen: sp.csr_matrix) -> np.ndarray:
    """``log`` of each item's number of listeners in a binary users x items matrix, float32
    ``(n_items,)``; items without listeners get the lowest value minus 1.

    >>> [round(float(v), 3) for v in log_listeners(sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0]])))]
    [0.693, 0.0, -1.0]
    """
    n = np.asarray(sp.csr_matrix(seen).getnnz(axis=0), dtype=np.float64)
    out = np.log(np.maximum(n, 1.0))
    out[n == 0] = out[n > 0].min() - 1.0 if (n > 0).any() else 0.0
    return out.astype(np.float32)
