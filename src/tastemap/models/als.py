"""Implicit-feedback ALS (Hu, Koren, Volinsky 2008) on top of ``implicit``.

The confidence of an observed (user, item) pair is computed here, exactly, and handed to
implicit with its own ``alpha`` fixed at 1:

* ``hu``:     ``C = 1 + alpha * r``
* ``log``:    ``C = 1 + alpha * log(1 + r / eps)``
* ``bm25``:   ``C = 1 + alpha * bm25(r)`` (implicit's ``bm25_weight`` with items as documents, as in
  implicit's last.fm example)
* ``binary``: ``C = 1 + alpha``

Why not implicit's ``alpha``: implicit 0.7.3 uses the stored value itself as the confidence
(``C_ui = alpha_implicit * value`` for stored entries, ``C_ui = 1`` for the others; it does *not*
add 1), so ``1 + alpha * r`` must be built by the caller. ``tests/test_models.py`` checks this
against a closed-form solve of the Hu et al. objective.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import ImplicitFactors, Recommender, register
from tastemap.models.params import Param
from tastemap.models.space import Choice, Float, Int

logger = logging.getLogger(__name__)

CONFIDENCES = ("hu", "log", "bm25", "binary")


def confidence(
    plays: sp.csr_matrix, transform: str = "log", alpha: float = 1.0, eps: float = 1.0,
    bm25_k1: float = 100.0, bm25_b: float = 0.8,
) -> sp.csr_matrix:
    """Confidence matrix ``C`` (users x items, float32) of the stored entries of ``plays``.

    Only stored entries are transformed; unobserved pairs keep the implicit confidence 1.

    >>> C = confidence(sp.csr_matrix(np.array([[0, 3.0], [1.0, 0]])), "hu", alpha=2.0)
    >>> C.toarray().tolist()
    [[0.0, 7.0], [3.0, 0.0]]
    """
    if transform not in CONFIDENCES:
        raise ValueError(f"confidence transform {transform!r}: use one of {', '.join(CONFIDENCES)}")
    X = sp.csr_matrix(plays, dtype=np.float64, copy=True)
    X.eliminate_zeros()
    X.sort_indices()
    if transform == "hu":
        w = X.data
    elif transform == "log":
        if eps <= 0:
            raise ValueError(f"eps must be > 0 for the log confidence, got {eps}")
        w = np.log1p(X.data / eps)
    elif transform == "binary":
        w = np.ones_like(X.data)
    else:
        from implicit.nearest_neighbours import bm25_weight

        # items are the documents: weight the items x users matrix, then turn it back.
        W = bm25_weight(X.T.tocsr(), K1=bm25_k1, B=bm25_b).T.tocsr()
        W.sort_indices()
        w = W.data
    C = sp.csr_matrix((1.0 + alpha * w, X.indices, X.indptr), shape=X.shape)
    return C.astype(np.float32)


@register("als")
class ALS(ImplicitFactors, Recommender):
    """Weighted matrix factorisation by alternating least squares (implicit's CPU solver).

    Parameters
    ----------
    factors, regularization, iterations
        As in ``implicit.als.AlternatingLeastSquares``.
    confidence, alpha, eps, bm25_k1, bm25_b
        The confidence transform of play counts (see :func:`confidence`).
    use_cg
        Conjugate-gradient solver (implicit's default, fast) instead of exact Cholesky.
    track_loss
        Compute the training loss after every iteration (``history_``); costs about one
        extra half-iteration each.
    random_state
        Seed of the initial factors.

    Attributes (after ``fit``)
    --------------------------
    user_factors_ / user_factors : (n_users, factors) float32
    item_factors_ / item_factors : (n_items, factors) float32
    history_ : list of (epoch, split, metric, value)

    implicit's model object is not kept: fold-in and explanations rebuild it from the factors
    (:meth:`solver`).
    """

    description = (
        "Implicit-feedback ALS (implicit's CPU solver). Confidence of an observed play count r is "
        "C = 1 + alpha * w(r), w from `confidence`; unobserved pairs have C = 1.")
    hyperparameters = {
        "factors": Param("Latent factors.", sweep="f", minimum=1, grid=True),
        "regularization": Param(
            "L2 penalty lambda (not scaled by the number of plays: it must be large next to the "
            "confidences; chosen with alpha on validation splits, docs/quality.md).",
            sweep="r", minimum=0),
        "alpha": Param("Confidence scale alpha.", sweep="a", exclusive_minimum=0),
        "iterations": Param("ALS sweeps (users then items).", sweep="i", minimum=1),
        "confidence": Param(
            "w(r) in C = 1 + alpha * w(r): log = log(1 + r/eps) (Hu et al.'s log scaling, the "
            "default because play counts are heavy-tailed), hu = r (linear), bm25 = implicit's "
            "bm25_weight with items as documents, binary = 1.",
            sweep="c", choices=("log", "hu", "bm25", "binary")),
        "eps": Param("eps of the log confidence.", sweep="e", exclusive_minimum=0),
        "bm25_k1": Param("BM25 K1 (confidence bm25).", exclusive_minimum=0),
        "bm25_b": Param("BM25 B (confidence bm25).", minimum=0, maximum=1),
        "use_cg": Param("Conjugate-gradient solver (fast); false = exact Cholesky solves."),
        "track_loss": Param(
            "Compute the training loss every iteration (history.parquet); costs time."),
    }
    search_space = {"factors": Int(16, 256, log=True), "regularization": Float(0.1, 1000.0),
                    "alpha": Float(0.1, 100.0), "confidence": Choice(("log", "bm25", "hu"))}
    folds_in = True
    has_factors = True
    has_loss_curve = True
    explains = True  # implicit's explain, rebuilt from the factors
    similar_by = "cosine of item factors"
    scoring = "dot"

    def __init__(
        self, factors: int = 64, regularization: float = 50.0, iterations: int = 15,
        confidence: str = "log", alpha: float = 4.0, eps: float = 1.0,
        bm25_k1: float = 100.0, bm25_b: float = 0.8, use_cg: bool = True,
        track_loss: bool = True, random_state: int = 0,
    ):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.confidence = confidence
        self.alpha = alpha
        self.eps = eps
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.use_cg = use_cg
        self.track_loss = track_loss
        self.random_state = random_state

    def transform(self, plays: sp.csr_matrix) -> sp.csr_matrix:
        """Play counts (users x items) -> the confidence matrix this model learns from.

        Note: ``bm25`` weights depend on the whole matrix (idf over users), so for new users the
        fitted model's ``log``/``hu``/``binary`` transforms are exact and ``bm25`` is computed on
        the new rows alone.
        """
        return confidence(plays, self.confidence, self.alpha, self.eps, self.bm25_k1, self.bm25_b)

    def _implicit(self):
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors, regularization=self.regularization, alpha=1.0,
            iterations=self.iterations, use_cg=self.use_cg,
            calculate_training_loss=self.track_loss, num_threads=self.num_threads,
            random_state=int(self.random_state),
        )

    def solver(self):
        """implicit's ``AlternatingLeastSquares`` holding this model's factors (built once)."""
        if getattr(self, "_solver", None) is None:
            model = self._implicit()
            model.user_factors, model.item_factors = self.user_factors_, self.item_factors_
            self._solver = model
        return self._solver

    def fit(self, train: sp.csr_matrix) -> ALS:
        """Learn factors from ``train`` (users x items play counts)."""
        train = self._set_train(train)
        C = self.transform(train)
        model = self._implicit()
        self.history_ = []
        start = time.monotonic()

        def progress(iteration, elapsed, loss):
            if loss is not None:
                self.history_.append((iteration + 1, "train", "loss", float(loss)))
            logger.info("ALS iteration %d/%d: %.2f s (total %.1f s)%s", iteration + 1,
                        self.iterations, elapsed, time.monotonic() - start,
                        "" if loss is None else f", loss {loss:.6f}")

        self._fit_implicit(model, C, progress)
        self._keep_factors(model)
        self._solver = model
        return self

    def fold_in(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Factors ``(n_new, factors)`` of new users from their play rows (implicit's exact
        ``recalculate_user``; the item factors stay fixed)."""
        C = self.transform(user_items)
        return self.solver().recalculate_user(np.arange(C.shape[0]), C)

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return self.fold_in(user_items) @ self.item_factors.T

    def explain(
        self, user_row: sp.csr_matrix, item_idx: np.ndarray, n: int = 5
    ) -> list[tuple[float, list[tuple[int, float]]]]:
        """Why items were recommended (implicit's ``explain``, Hu et al. section 5).

        ``user_row`` is one user's play row (1 x n_items, as in the fit matrix; a known or a new
        user). For each item of ``item_idx``: ``(total score, [(played item, contribution),
        ...])``, the ``n`` largest contributions first. The total is the score of the user's
        factors solved exactly from the row (as ``recommend_new`` does), so for a known user it
        can differ slightly from the fitted factors' score."""
        C = self.transform(sp.csr_matrix(user_row))
        out, weights = [], None
        for item in np.asarray(item_idx):
            total, contrib, weights = self.solver().explain(0, C, int(item), user_weights=weights,
                                                             N=n)
            out.append((float(total), [(int(i), float(s)) for i, s in contrib]))
        return out
