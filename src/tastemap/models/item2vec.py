"""item2vec: item embeddings learnt from which items share listeners (PyTorch), two variants.

``item2vec`` (the course variant): the item x item co-occurrence ``C = B^T B`` of the binary
users x items matrix ``B`` (diagonal zeroed), each row normalised to a distribution over
co-listened items, and a model ``Embedding(n, d) -> Linear(d, n) -> log_softmax`` trained with
``KLDivLoss`` so that the embedding of item ``i`` predicts the distribution of row ``i``. The
output layer is ``n x n``, so only the ``max_items`` most popular items (by listeners) are
trained; every other item with listeners gets the co-occurrence-weighted mean of the trained
embeddings of the top items it shares listeners with (an approximation, documented in
docs/models_torch.md).

``sgns`` (Barkan & Koenigstein 2016, "Item2Vec: neural item embedding for collaborative
filtering"): skip-gram with negative sampling where a user's item set plays the role of a
sentence. Each epoch draws, for every stored entry ``(u, i)``, ``contexts`` other items ``j`` of
the same user (uniformly, never ``i`` itself) and ``negatives`` noise items from the unigram
distribution raised to 3/4; loss ``-log s(v_i . c_j) - sum log s(-v_i . c_n)``. Sessions cut
from timestamps are not used (the matrices carry no timestamps).

Both: ``item_factors`` are the input embeddings and neighbours are by cosine
(``Recommender.similar_items``). A user's score for item ``j`` is the mean cosine similarity of
``j`` to the items the user played: ``mean_{i in played(u)} e_i/|e_i| . e_j/|e_j|``; that is
also the fold-in for a new user (no training needed). Items without listeners in the training
matrix get a zero vector (cosine 0 to everything).
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from tastemap.models._torch import (
    History, check_matrix, effective_threads, mean_of_rows, torch_session, unit_rows,
)
from tastemap.models.base import Recommender, register

if TYPE_CHECKING:  # pragma: no cover
    import torch

logger = logging.getLogger(__name__)


class _MeanCosineScoring(Recommender):
    """Shared scoring: users = mean of their played items' unit embeddings (``unit_items_``)."""

    folds_in = True
    has_factors = True
    has_loss_curve = True
    similar_by = "cosine of item factors"

    def _finish(self, csr: sp.csr_matrix, item_vectors: np.ndarray) -> None:
        self.item_factors = np.asarray(item_vectors, dtype=np.float32)
        self.unit_items_ = unit_rows(self.item_factors)
        self.user_factors = mean_of_rows(csr, self.unit_items_)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors[np.asarray(user_idx)] @ self.unit_items_.T

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return mean_of_rows(user_items, self.unit_items_) @ self.unit_items_.T


def _check_positive(model: str, obj, *keys: str) -> None:
    for key in keys:
        if getattr(obj, key) is None or getattr(obj, key) < 1:
            raise ValueError(f"{model}.{key} must be >= 1, got {getattr(obj, key)!r}")


# ------------------------------------------------------------------------------------------
# (a) the course variant: co-occurrence distributions + KL divergence
# ------------------------------------------------------------------------------------------
def cooccurrence_distributions(binary: sp.csr_matrix) -> sp.csr_matrix:
    """Row-normalised item x item co-occurrence of a binary users x items matrix.

    ``C[i, j]`` = number of users who played both ``i`` and ``j`` (``i != j``), each row divided
    by its sum; rows of items that share no listener stay all-zero. Shape ``(n_items, n_items)``.

    >>> B = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1]], dtype=np.float32))
    >>> cooccurrence_distributions(B).toarray().astype(float).round(2).tolist()
    [[0.0, 0.67, 0.33], [0.67, 0.0, 0.33], [0.5, 0.5, 0.0]]
    """
    C = (binary.T @ binary).tocsr().astype(np.float32)
    C.setdiag(0)
    C.eliminate_zeros()
    sums = np.asarray(C.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_matrix(sp.diags(scale) @ C, dtype=np.float32)


def _binary(csr: sp.csr_matrix) -> sp.csr_matrix:
    b = csr.copy()
    b.eliminate_zeros()
    b.data[:] = 1.0
    return b


@register("item2vec")
class Item2Vec(_MeanCosineScoring):
    """Course item2vec: Embedding -> Linear -> log-softmax fit by KL divergence to the rows of
    the normalised item x item co-occurrence.

    Parameters
    ----------
    factors : int
        Embedding dimension ``d`` (2 gives a map directly).
    epochs : int
        Passes over the trained items.
    batch_size : int
        Items per mini-batch (each brings a dense row of ``max_items`` targets).
    learning_rate : float
        Adam step size.
    max_items : int
        Train only the most popular ``max_items`` items (the output layer is n x n); others
        get co-occurrence-weighted means of the trained embeddings.
    random_state, num_threads : int
        Seed of every random step; torch threads during ``fit``.

    Attributes (after ``fit``): ``item_factors (n_items, d)``, ``user_factors (n_users, d)``
    (mean unit embedding of the played items), ``trained_items_`` (item ids trained directly),
    ``history_`` (train KL loss per epoch).
    """

    sweep_prefixes = {"factors": "f", "epochs": "e", "learning_rate": "lr"}

    def __init__(self, factors: int = 32, epochs: int = 30, batch_size: int = 256,
                 learning_rate: float = 0.05, max_items: int = 5000, random_state: int = 0,
                 num_threads: int = 1):
        self.factors = factors
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_items = max_items
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, train: sp.csr_matrix) -> "Item2Vec":
        """Learn from ``train`` (users x items play counts, CSR); returns ``self``."""
        import torch
        from torch import nn

        from tastemap.models._nets import KLItem2Vec as _KLItem2Vec

        _check_positive("item2vec", self, "factors", "epochs", "batch_size", "max_items")
        csr = check_matrix(train)
        self._set_train(csr)
        B = _binary(csr)
        n_items = B.shape[1]
        listeners = np.diff(B.tocsc().indptr)
        ranked = np.argsort(-listeners, kind="stable")
        top = np.sort(ranked[: min(self.max_items, int((listeners > 0).sum()))])
        if len(top) < len(ranked[listeners > 0]):
            logger.info("item2vec: training the %d most popular of %d items with listeners "
                        "(max_items); the rest get co-occurrence-weighted means", len(top),
                        int((listeners > 0).sum()))
        B_top = sp.csr_matrix(B[:, top])
        target = cooccurrence_distributions(B_top)
        trainable = np.flatnonzero(np.diff(target.indptr) > 0)
        if len(trainable) < 2:
            raise ValueError("item2vec: fewer than 2 items share a listener in train; nothing to learn")
        history = History()
        threads = effective_threads(self.num_threads, csr.nnz)
        with torch_session(self.random_state, threads) as gen:
            net = _KLItem2Vec(len(top), int(self.factors))
            opt = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
            kl = nn.KLDivLoss(reduction="batchmean")
            trainable_t = torch.from_numpy(trainable)
            for epoch in range(1, int(self.epochs) + 1):
                t0 = time.perf_counter()
                perm = trainable_t[torch.randperm(len(trainable), generator=gen)]
                total = 0.0
                for start in range(0, len(perm), int(self.batch_size)):
                    items = perm[start : start + int(self.batch_size)]
                    rows = torch.from_numpy(target[items.numpy()].toarray())
                    loss = kl(net(items), rows)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(items)
                history.add(epoch, "train", "loss", total / len(trainable))
                logger.info("item2vec epoch %d/%d: KL %.4f (%.1f s)", epoch, self.epochs,
                            total / len(trainable), time.perf_counter() - t0)
            emb_top = net.embed.weight.detach().numpy().copy()
        emb_top[np.diff(target.indptr) == 0] = 0.0  # never trained: no co-listener
        vectors = np.zeros((n_items, int(self.factors)), dtype=np.float32)
        vectors[top] = emb_top
        rest = np.setdiff1d(np.flatnonzero(listeners > 0), top)
        for start in range(0, len(rest), 4096):
            block = rest[start : start + 4096]
            co = (sp.csr_matrix(B[:, block]).T @ B_top).tocsr()
            vectors[block] = np.asarray(
                cooccurrence_distributions_rows(co) @ emb_top, dtype=np.float32)
        self.trained_items_ = top[np.diff(target.indptr) > 0]
        self._finish(csr, vectors)
        self.history_ = history.rows
        return self


def cooccurrence_distributions_rows(co: sp.csr_matrix) -> sp.csr_matrix:
    """Rows of a (non-square) co-occurrence block scaled to sum 1; empty rows stay zero."""
    sums = np.asarray(co.sum(axis=1)).ravel().astype(np.float32)
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_matrix(sp.diags(scale) @ co, dtype=np.float32)


# ------------------------------------------------------------------------------------------
# (b) skip-gram with negative sampling over each user's item set
# ------------------------------------------------------------------------------------------
def sample_context_pairs(
    csr: sp.csr_matrix, contexts: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For every stored entry ``(u, i)`` of users with >= 2 items, ``contexts`` items ``j != i``
    drawn uniformly from the same user's items. Returns ``(centers, context_items)``, int64.
    """
    deg = np.diff(csr.indptr)
    rows = np.repeat(np.arange(csr.shape[0]), deg)
    entry = np.arange(csr.nnz)
    keep = deg[rows] >= 2
    rows, entry = np.repeat(rows[keep], contexts), np.repeat(entry[keep], contexts)
    pos = entry - csr.indptr[rows]  # position of i inside its row
    offset = (rng.random(len(rows)) * (deg[rows] - 1)).astype(np.int64)
    offset += offset >= pos  # skip i itself: uniform over the other deg - 1 items
    return csr.indices[entry].astype(np.int64), csr.indices[csr.indptr[rows] + offset].astype(np.int64)


@register("sgns")
class SkipGramNS(_MeanCosineScoring):
    """item2vec as skip-gram with negative sampling over each user's item set.

    Parameters
    ----------
    factors : int
        Embedding dimension.
    epochs : int
        Passes; each draws ``contexts`` context items per stored entry anew.
    contexts : int
        Context items drawn per stored entry per epoch.
    negatives : int
        Noise items per pair, drawn from listener counts ** 0.75.
    batch_size : int
        Pairs per mini-batch.
    learning_rate : float
        SparseAdam step size.
    random_state, num_threads : int
        Seed of every random step; torch threads during ``fit``.
    """

    sweep_prefixes = {"factors": "f", "contexts": "c", "negatives": "n", "epochs": "e",
                      "learning_rate": "lr"}

    def __init__(self, factors: int = 32, epochs: int = 5, contexts: int = 5, negatives: int = 5,
                 batch_size: int = 512, learning_rate: float = 0.01, random_state: int = 0,
                 num_threads: int = 1):
        self.factors = factors
        self.epochs = epochs
        self.contexts = contexts
        self.negatives = negatives
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, train: sp.csr_matrix) -> "SkipGramNS":
        """Learn from ``train`` (users x items play counts, CSR); returns ``self``."""
        import torch
        import torch.nn.functional as F
        from torch import nn

        _check_positive("sgns", self, "factors", "epochs", "contexts", "negatives", "batch_size")
        csr = check_matrix(train)
        self._set_train(csr)
        B = _binary(csr)
        B.sort_indices()
        n_items, d = B.shape[1], int(self.factors)
        listeners = np.diff(B.tocsc().indptr).astype(np.float64)
        noise = torch.from_numpy(np.cumsum(listeners**0.75 / (listeners**0.75).sum()))
        rng = np.random.default_rng(self.random_state)
        history = History()
        threads = effective_threads(self.num_threads, csr.nnz)
        with torch_session(self.random_state, threads) as gen:
            v_in = nn.Embedding(n_items, d, sparse=True)
            v_out = nn.Embedding(n_items, d, sparse=True)
            with torch.no_grad():
                v_in.weight.uniform_(-0.5 / d, 0.5 / d, generator=gen)
                v_out.weight.zero_()
            opt = torch.optim.SparseAdam([v_in.weight, v_out.weight], lr=self.learning_rate)
            k = int(self.negatives)
            for epoch in range(1, int(self.epochs) + 1):
                t0 = time.perf_counter()
                centers, ctx = sample_context_pairs(B, int(self.contexts), rng)
                if not len(centers):
                    raise ValueError("sgns: no user has 2 or more items in train; nothing to learn")
                centers, ctx = torch.from_numpy(centers), torch.from_numpy(ctx)
                perm = torch.randperm(len(centers), generator=gen)
                total = 0.0
                for start in range(0, len(perm), int(self.batch_size)):
                    sel = perm[start : start + int(self.batch_size)]
                    c = v_in(centers[sel])  # (b, d)
                    o = v_out(ctx[sel])  # (b, d)
                    draws = torch.rand(len(sel) * k, generator=gen, dtype=torch.float64)
                    neg = torch.searchsorted(noise, draws).clamp_(max=n_items - 1).view(len(sel), k)
                    n = v_out(neg)  # (b, k, d)
                    pos_logit = (c * o).sum(1)
                    neg_logit = torch.bmm(n, c.unsqueeze(2)).squeeze(2)
                    loss = -(F.logsigmoid(pos_logit) + F.logsigmoid(-neg_logit).sum(1)).mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(sel)
                history.add(epoch, "train", "loss", total / len(perm))
                logger.info("sgns epoch %d/%d: loss %.4f over %d pairs (%.1f s)", epoch,
                            self.epochs, total / len(perm), len(perm), time.perf_counter() - t0)
            vectors = v_in.weight.detach().numpy().copy()
        vectors[listeners == 0] = 0.0
        self._finish(csr, vectors)
        self.history_ = history.rows
        return self
