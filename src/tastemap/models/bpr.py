"""Bayesian Personalised Ranking (Rendle et al. 2009) with uniformly drawn negatives.

Each training sample is a triple: a user drawn uniformly among those with plays, one of their
played items drawn uniformly (the positive), and an item drawn uniformly from the whole catalogue,
re-drawn while the user has played it (the negative). The model raises the positive's score
``x_u . y_i + b_i`` above the negative's by mini-batch gradient ascent on ``log sigmoid`` of the
difference, with L2 regularisation and, by default, AdaGrad step sizes: the sampler and optimiser
of Ferrari Dacrema et al.'s ``MatrixFactorization_BPR_Cython`` (TOIS 2021), which reproduces
the MF BPR row of their Table 32 (docs/reproductions.md). ``optimizer="sgd"`` with
``batch_size=1`` makes the per-sample steps of Rendle's LearnBPR (which draws the (user, item)
pair uniformly among the plays, where this draws the user uniformly).

Why not implicit's BPR: implicit 0.7.3 draws each negative as the item of a random stored play
(``disliked_id = itemids[rng.generate()]`` in ``implicit/cpu/bpr.pyx``), i.e. in proportion to
the item's listeners. A popular item is then a negative as often as it is a positive and the
model learns to rank against popularity. On the ML-1M split of docs/reproductions.md, with the
paper's hyper-parameters, implicit scores REC@20 0.050 against the paper's 0.086, and the
authors' own code with only its negative draw made popularity-proportional falls to 0.043. No
kept library among tastemap's dependencies samples uniformly, so the loop is written here in
numba (numba is also umap-learn's engine), with ``fastmath`` and numpy's error model (the
loops vectorise: 0.85 s instead of 1.8 s per epoch of Last.fm-1K's 843K user-song pairs at 64
factors, one core). A diverged fit shows as non-finite factors and raises :class:`Diverged`.

An epoch is one sample per stored play (``nnz`` samples, rounded up to whole batches), as in
implicit and Cornac. Training is single-threaded: the seed fixes the factors.
"""
from __future__ import annotations

import logging
import time

import numba
import numpy as np
import scipy.sparse as sp

from tastemap.models.base import Diverged, ImplicitFactors, Recommender, register
from tastemap.models.knn import weigh
from tastemap.models.params import Param
from tastemap.models.space import Float, Int

logger = logging.getLogger(__name__)

OPTIMIZERS = ("adagrad", "sgd")


@register("bpr")
class BPR(ImplicitFactors, Recommender):
    """Parameters
    ----------
    factors
        Latent factors per user and item.
    learning_rate
        Step size (AdaGrad's global rate, or the plain SGD step).
    regularization
        L2 penalty on the positive and negative items' factors and biases, per sample.
    user_regularization
        L2 penalty on the user's factors; ``None`` = ``regularization``. The authors' MF BPR
        regularises the items only (their ``user_reg`` is 0), and their Table 32 row needs it.
    iterations
        Epochs; an epoch is as many samples as there are stored plays.
    batch_size
        Samples whose gradients are averaged before one update.
    optimizer
        ``"adagrad"`` (per-parameter steps ``rate / sqrt(sum of squared gradients)``) or
        ``"sgd"``.
    item_bias
        Learn a bias per item (a popularity term; Rendle's and the authors' MF BPR have none).
    init_std
        Standard deviation of the normal initial factors. Small starts train better at small
        learning rates (simulated default, validation nDCG@10 of the search's best values:
        0.2755 at 0.01 against 0.2686 at 0.1); the authors' MF BPR starts at 0.1.
    random_state
        Seed of the initial factors and of the sampling.

    Attributes (after ``fit``): ``user_factors_`` (n_users, factors + 1; last column 1),
    ``item_factors_`` (n_items, factors + 1; last column = item bias, 0 without one),
    ``history_`` (training AUC per epoch: the fraction of sampled (positive, negative) pairs the
    model ranked right before their update).
    """

    description = (
        "Bayesian Personalised Ranking: plays as binary likes, negatives drawn uniformly from the "
        "catalogue, mini-batch AdaGrad (docs/models.md).")
    hyperparameters = {
        "factors": Param("Latent factors.", sweep="f", minimum=1, grid=True),
        "learning_rate": Param(
            "Step size (AdaGrad's global rate, or the SGD step).",
            sweep="lr", exclusive_minimum=0),
        "regularization": Param("L2 penalty on the item factors and biases.", sweep="r", minimum=0),
        "iterations": Param(
            "Epochs, each as many samples as there are plays.",
            sweep="i", minimum=1),
        "batch_size": Param(
            "Samples whose gradients are averaged into one update.",
            sweep="b", minimum=1),
        "user_regularization": Param(
            "L2 penalty on the user factors; null = the same as regularization.",
            minimum=0),
        "optimizer": Param(
            "adagrad (per-parameter steps) or sgd (one constant step; with batch_size 1, the "
            "per-sample steps of Rendle's LearnBPR).",
            choices=("adagrad", "sgd")),
        "item_bias": Param("Learn a bias per item (a popularity term)."),
        "init_std": Param("Standard deviation of the normal initial factors.", exclusive_minimum=0),
    }
    search_space = {"factors": Int(16, 256, log=True), "learning_rate": Float(0.005, 0.3),
                    "regularization": Float(1e-4, 0.3), "iterations": Int(5, 100, log=True)}
    folds_in = True
    has_factors = True
    has_loss_curve = True
    similar_by = "cosine of item factors"
    scoring = "dot"
    multithreaded = False  # one numba loop on one core

    def __init__(self, factors: int = 64, learning_rate: float = 0.05,
                 regularization: float = 0.01, user_regularization: float | None = None,
                 iterations: int = 30, batch_size: int = 32, optimizer: str = "adagrad",
                 item_bias: bool = True, init_std: float = 0.01, random_state: int = 0):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.user_regularization = user_regularization
        self.iterations = iterations
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.item_bias = item_bias
        self.init_std = init_std
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> BPR:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"BPR optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if int(self.batch_size) < 1:
            raise ValueError(f"BPR batch_size must be at least 1, got {self.batch_size}")
        self._set_train(train)
        likes = sp.csr_matrix(self.seen, dtype=np.float32)
        likes.sort_indices()
        n_users, n_items = likes.shape
        k = int(self.factors)
        rng = np.random.default_rng(int(self.random_state))
        users = rng.normal(0.0, self.init_std, (n_users, k)).astype(np.float32)
        items = rng.normal(0.0, self.init_std, (n_items, k)).astype(np.float32)
        bias = np.zeros(n_items, dtype=np.float32)
        lengths = np.diff(likes.indptr)
        active = np.flatnonzero((lengths > 0) & (lengths < n_items)).astype(np.int64)
        users[lengths == 0] = 0.0
        self.history_ = []
        self.threads_ = 1
        batch = int(self.batch_size)
        user_reg = (self.regularization if self.user_regularization is None
                    else self.user_regularization)
        batches = -(-likes.nnz // batch)
        logger.info("BPR: %d x %d, %d likes, %d epochs of %d batches of %d (%s)", n_users,
                    n_items, likes.nnz, self.iterations, batches, batch, self.optimizer)
        start = time.monotonic()
        if len(active):
            # the arguments of every epoch, converted once
            rows = (likes.indptr.astype(np.int64), likes.indices.astype(np.int64), active)
            state = _State(n_users, n_items, k, batch)
            settings = (batches, batch, np.float32(self.learning_rate),
                        np.float32(self.regularization), np.float32(user_reg),
                        self.optimizer == "adagrad", bool(self.item_bias))
            _seed(np.int64(rng.integers(2**31 - 1)))
            for epoch in range(int(self.iterations)):
                auc = _epoch(*rows, users, items, bias, *state.arrays(), *settings)
                if not (np.isfinite(auc) and np.isfinite(users).all()):
                    raise Diverged(f"BPR diverged at {self.get_params()} in epoch {epoch + 1}")
                self.history_.append((epoch + 1, "train", "auc", float(auc)))
                if epoch + 1 == self.iterations or (epoch + 1) % 10 == 0:
                    logger.info("BPR epoch %d/%d: train AUC %.4f (%.1f s)", epoch + 1,
                                self.iterations, auc, time.monotonic() - start)
        ones = np.ones((n_users, 1), dtype=np.float32)
        self.user_factors_ = np.hstack([users, ones])
        self.item_factors_ = np.hstack([items, bias[:, None]])
        return self

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Fold-in without retraining: a new user's vector is the log-play-weighted mean of the
        factors of the items they played (BPR has no closed-form user update), with the bias
        column kept at 1."""
        W = weigh(user_items, "log")
        sums = np.asarray(W.sum(axis=1)).ravel()
        sums[sums == 0] = 1.0
        users = np.asarray(W @ self.item_factors_) / sums[:, None]
        users[:, -1] = 1.0
        return users @ self.item_factors_.T


class _State:
    """Work arrays of one fit: AdaGrad's squared-gradient sums and one mini-batch's gradients,
    kept per touched user and item (``slot_*`` maps an id to its row, -1 when untouched)."""

    def __init__(self, n_users: int, n_items: int, k: int, batch: int):
        self.cache_u = np.zeros((n_users, k), dtype=np.float32)
        self.cache_i = np.zeros((n_items, k), dtype=np.float32)
        self.cache_b = np.zeros(n_items, dtype=np.float32)
        self.slot_u = np.full(n_users, -1, dtype=np.int64)
        self.slot_i = np.full(n_items, -1, dtype=np.int64)
        self.grad_u = np.zeros((batch, k), dtype=np.float32)
        self.grad_i = np.zeros((2 * batch, k), dtype=np.float32)
        self.grad_b = np.zeros(2 * batch, dtype=np.float32)
        self.touched_u = np.zeros(batch, dtype=np.int64)
        self.touched_i = np.zeros(2 * batch, dtype=np.int64)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The work arrays in :func:`_epoch`'s argument order."""
        return (self.cache_u, self.cache_i, self.cache_b, self.slot_u, self.slot_i, self.grad_u,
                self.grad_i, self.grad_b, self.touched_u, self.touched_i)


@numba.njit(cache=True)
def _seed(seed):
    """Seed numba's own generator (used by :func:`_epoch`) in this thread."""
    np.random.seed(seed)


@numba.njit(cache=True, inline="always")
def _played(indices, start, end, item):
    """Whether ``item`` is among the sorted ``indices[start:end]`` (binary search)."""
    lo, hi = start, end
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == item


@numba.njit(cache=True, inline="always", fastmath=True, error_model="numpy")
def _step(value, grad, cache, rate, adagrad):
    """Ascent step of one parameter; AdaGrad adds the squared gradient to ``cache`` first."""
    if adagrad:
        cache += grad * grad
        return value + rate * grad / (np.sqrt(cache) + np.float32(1e-8)), cache
    return value + rate * grad, cache


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _epoch(indptr, indices, active, U, V, b, cache_u, cache_i, cache_b, slot_u, slot_i,
           grad_u, grad_i, grad_b, touched_u, touched_i, batches, batch, rate, reg, user_reg,
           adagrad, use_bias):
    """One epoch of ``batches`` mini-batches; returns the fraction of samples ranked right."""
    n_items = V.shape[0]
    k = U.shape[1]
    right = 0
    for _ in range(batches):
        n_u = 0
        n_i = 0
        for _s in range(batch):
            u = active[np.random.randint(0, active.shape[0])]
            start, end = indptr[u], indptr[u + 1]
            i = indices[start + np.random.randint(0, end - start)]
            j = np.random.randint(0, n_items)
            while _played(indices, start, end, j):
                j = np.random.randint(0, n_items)
            x = b[i] - b[j] if use_bias else np.float32(0.0)
            for f in range(k):
                x += U[u, f] * (V[i, f] - V[j, f])
            if x > 0:
                right += 1
            s = np.float32(1.0 / (1.0 + np.exp(x)))  # d log sigmoid(x) / dx
            if slot_u[u] < 0:
                slot_u[u] = n_u
                touched_u[n_u] = u
                grad_u[n_u, :] = 0.0
                n_u += 1
            for item in (i, j):
                if slot_i[item] < 0:
                    slot_i[item] = n_i
                    touched_i[n_i] = item
                    grad_i[n_i, :] = 0.0
                    grad_b[n_i] = 0.0
                    n_i += 1
            su, si, sj = slot_u[u], slot_i[i], slot_i[j]
            for f in range(k):
                grad_u[su, f] += s * (V[i, f] - V[j, f]) - user_reg * U[u, f]
                grad_i[si, f] += s * U[u, f] - reg * V[i, f]
                grad_i[sj, f] += -s * U[u, f] - reg * V[j, f]
            if use_bias:
                grad_b[si] += s - reg * b[i]
                grad_b[sj] += -s - reg * b[j]
        for t in range(n_i):
            item = touched_i[t]
            for f in range(k):
                V[item, f], cache_i[item, f] = _step(V[item, f], grad_i[t, f] / batch,
                                                     cache_i[item, f], rate, adagrad)
            if use_bias:
                b[item], cache_b[item] = _step(b[item], grad_b[t] / batch, cache_b[item], rate,
                                               adagrad)
            slot_i[item] = -1
        for t in range(n_u):
            u = touched_u[t]
            for f in range(k):
                U[u, f], cache_u[u, f] = _step(U[u, f], grad_u[t, f] / batch, cache_u[u, f],
                                               rate, adagrad)
            slot_u[u] = -1
    return right / (batches * batch)
