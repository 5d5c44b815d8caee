"""item2vec: item embeddings learnt from which items share listeners (PyTorch), two variants.

``item2vec`` (the course variant): the item x item co-occurrence ``C = B^T D B`` of the binary
users x items matrix ``B`` (diagonal zeroed; ``D`` weighs each user's pairs ``1 / (n_u - 1)`` by
default, ``cooccurrence: per_entry``; ``count`` = ``D = I``, the course's ``B^T B``), each row
normalised to a distribution over co-listened items, and a model
``Embedding(n, d) -> Linear(d, n) -> log_softmax`` trained with ``KLDivLoss`` so that the
embedding of item ``i`` predicts the distribution of row ``i``. The output layer is ``n x n``,
so only the ``max_items`` most popular items (by listeners) are trained; every other item with
listeners gets the co-occurrence-weighted mean of the trained embeddings of the top items it
shares listeners with (an approximation, documented in docs/models_torch.md).

``sgns`` (Barkan & Koenigstein 2016, "Item2Vec: neural item embedding for collaborative
filtering"): skip-gram with negative sampling where a user's item set plays the role of a
sentence. Each epoch draws, for every stored entry ``(u, i)``, ``contexts`` other items ``j`` of
the same user (uniformly, never ``i`` itself) and ``negatives`` noise items from the unigram
distribution raised to ``ns_exponent`` (3/4); loss ``-log s(v_i . c_j) - sum log s(-v_i . c_n)``. Sessions cut
from timestamps are not used (the matrices carry no timestamps).

Both learn two vectors per item: an input embedding ``e_i`` (``item_factors``; neighbours by
cosine, ``Recommender.similar_items``) and an output ("context") side ``(w_j, b_j)`` with which
the model scores item ``j`` in the context of item ``i``: the logit ``e_i . w_j + b_j`` of the
softmax (course variant: ``b_j`` is the output layer's bias, the logit is ``log p(j | i)`` up to a
constant of ``i``), or for SGNS ``e_i . c_j + log P_n(j)`` with ``P_n`` the noise distribution
(at the optimum ``e_i . c_j = log p(j | i) / (k P_n(j))``, Levy & Goldberg 2014, so adding back
``log P_n(j)`` gives ``log p(j | i)`` up to a constant). A user's score for item ``j`` is the mean
of that log-probability over the items ``i`` the user played::

    score(u, j) = mean_{i in played(u)} e_i . w_j + b_j = user_factors[u] . w_j + b_j

(``user_factors`` = the mean input embedding of the played items; a dot product, so
``recommend`` takes the pruned ``top_k_dot`` path). The fold-in of a new user is the same formula
and needs no training. Items without listeners in the training matrix get a zero input vector and
the lowest bias (cosine 0 to everything; never recommended ahead of an item with listeners).

Why not the mean cosine of the input embeddings (the scoring before this version): the input
embeddings carry which items share listeners, not how likely an item is; ranking by cosine
ignores the learnt output side and every popularity signal, and SGNS's own objective removes
popularity (its logit estimates a PMI against ``P_n``). On MovieLens 100K both variants ranked
below the popularity baseline that way (nDCG@10 0.88x and 0.75x popularity, docs/quality.md).
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from tastemap.models._torch import (
    History,
    check_matrix,
    effective_threads,
    mean_of_rows,
    torch_session,
)
from tastemap.models.base import Recommender, register
from tastemap.models.params import Param
from tastemap.models.space import Choice, Float, Int

logger = logging.getLogger(__name__)


class _ContextScoring(Recommender):
    """Shared scoring of both variants (module docstring): user = mean input embedding of the
    played items, score = ``user . w_j + b_j``.

    Fitted arrays: ``item_factors_`` (n_items, d) input embeddings, ``context_factors_``
    (n_items, d) and ``context_bias_`` (n_items,) the output side, ``user_factors_`` (n_users, d).
    """

    folds_in = True
    has_factors = True
    has_loss_curve = True
    similar_by = "cosine of item factors"
    scoring = "dot"

    def _finish(self, csr: sp.csr_matrix, inputs: np.ndarray, contexts: np.ndarray,
                bias: np.ndarray, listeners: np.ndarray) -> None:
        inputs = np.asarray(inputs, dtype=np.float32).copy()
        bias = np.asarray(bias, dtype=np.float32).copy()
        empty = listeners == 0
        inputs[empty] = 0.0
        if empty.any() and not empty.all():
            bias[empty] = bias[~empty].min() - 1.0
        self.item_factors_ = inputs
        self.context_factors_ = np.asarray(contexts, dtype=np.float32)
        self.context_bias_ = bias
        self.user_factors_ = mean_of_rows(csr, inputs)

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        users = np.hstack([self.user_factors_, np.ones((self.n_users, 1), np.float32)])
        return users, np.hstack([self.context_factors_, self.context_bias_[:, None]])

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[np.asarray(user_idx)] @ self.context_factors_.T + self.context_bias_

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return mean_of_rows(user_items, self.item_factors_) @ self.context_factors_.T + self.context_bias_


def _check_positive(model: str, obj, *keys: str) -> None:
    for key in keys:
        if getattr(obj, key) is None or getattr(obj, key) < 1:
            raise ValueError(f"{model}.{key} must be >= 1, got {getattr(obj, key)!r}")


# ------------------------------------------------------------------------------------------
# (a) the course variant: co-occurrence distributions + KL divergence
# ------------------------------------------------------------------------------------------
def cooccurrence_distributions(binary: sp.csr_matrix, weighting: str = "count") -> sp.csr_matrix:
    """Row-normalised item x item co-occurrence of a binary users x items matrix.

    ``weighting="count"``: ``C[i, j]`` = number of users who played both ``i`` and ``j``
    (``i != j``; ``B^T B``, the course definition: a user with ``n`` items adds ``n (n - 1)``
    pairs). ``weighting="per_entry"``: each user's pairs weigh ``1 / (n - 1)`` (``B^T D B``), so
    every stored (user, item) entry spreads one unit over the user's other items, as SGNS draws
    the same number of contexts per entry; heavy users no longer dominate the rows. Each row is
    then divided by its sum; rows of items that share no listener stay all-zero. Shape
    ``(n_items, n_items)``.

    >>> B = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1]], dtype=np.float32))
    >>> cooccurrence_distributions(B).toarray().astype(float).round(2).tolist()
    [[0.0, 0.67, 0.33], [0.67, 0.0, 0.33], [0.5, 0.5, 0.0]]
    >>> cooccurrence_distributions(B, "per_entry").toarray().astype(float).round(2).tolist()
    [[0.0, 0.75, 0.25], [0.75, 0.0, 0.25], [0.5, 0.5, 0.0]]
    """
    if weighting not in ("count", "per_entry"):
        raise ValueError(f"item2vec.cooccurrence must be 'count' or 'per_entry', got {weighting!r}")
    left = binary
    if weighting == "per_entry":
        deg = np.asarray(binary.sum(axis=1)).ravel()
        left = sp.diags(np.divide(1.0, deg - 1, out=np.zeros_like(deg), where=deg > 1)) @ binary
    C = (binary.T @ left).tocsr().astype(np.float32)
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
class Item2Vec(_ContextScoring):
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
    cooccurrence : str
        ``count`` (``B^T B``, the course definition) or ``per_entry`` (each user's pairs
        weighted ``1 / (n_items_of_user - 1)``), see ``cooccurrence_distributions``.
    random_state, num_threads : int
        Seed of every random step; torch threads during ``fit``.

    Attributes (after ``fit``): ``item_factors (n_items, d)``, ``user_factors (n_users, d)``
    (mean unit embedding of the played items), ``trained_items_`` (item ids trained directly),
    ``history_`` (train KL loss per epoch).
    """

    description = (
        "item2vec, course variant (PyTorch): rows of the item x item co-occurrence (binary plays) "
        "normalised to distributions; Embedding -> Linear -> log-softmax fit by KL divergence. "
        "Cosine neighbours; a user's score for an item is the mean over their played items of the "
        "model's log-probability of that item (its output layer).")
    hyperparameters = {
        "factors": Param(
            "Embedding size (2 gives a map directly).",
            sweep="f", minimum=1, grid=True),
        "epochs": Param("Passes over the trained items.", sweep="e", minimum=1),
        "learning_rate": Param("Adam step size.", sweep="lr", exclusive_minimum=0),
        "cooccurrence": Param(
            "Target rows: count = users who played both items (B^T B, the course definition; a "
            "user with n items adds n(n-1) pairs), per_entry = each user's pairs weighted 1/(n-1),"
            " so every (user, item) entry spreads one unit over the user's other items (as sgns "
            "draws contexts; chosen on validation: +9% nDCG@10 on MovieLens 100K, +3% on the "
            "simulated default, docs/quality.md).",
            sweep="co", choices=("count", "per_entry")),
        "batch_size": Param("Items per mini-batch.", minimum=1),
        "max_items": Param(
            "Train only this many most-listened items (the output layer is n x n); the other items"
            " get the co-occurrence-weighted mean of the trained embeddings.",
            minimum=2),
    }
    search_space = {"factors": Int(8, 64, log=True), "learning_rate": Float(0.005, 0.1),
                    "cooccurrence": Choice(("count", "per_entry"))}

    def __init__(self, factors: int = 16, epochs: int = 30, batch_size: int = 256,
                 learning_rate: float = 0.05, max_items: int = 5000, cooccurrence: str = "per_entry",
                 random_state: int = 0, num_threads: int = 1):
        self.factors = factors
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_items = max_items
        self.cooccurrence = cooccurrence
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, train: sp.csr_matrix) -> Item2Vec:
        """Learn from ``train`` (users x items play counts, CSR); returns ``self``."""
        from tastemap.models._train import train_kl_item2vec

        _check_positive("item2vec", self, "factors", "epochs", "batch_size", "max_items")
        csr = check_matrix(train)
        self._set_train(csr)
        B = _binary(csr)
        listeners = np.diff(B.tocsc().indptr)
        ranked = np.argsort(-listeners, kind="stable")
        top = np.sort(ranked[: min(self.max_items, int((listeners > 0).sum()))])
        if len(top) < len(ranked[listeners > 0]):
            logger.info("item2vec: training the %d most popular of %d items with listeners "
                        "(max_items); the rest get co-occurrence-weighted means", len(top),
                        int((listeners > 0).sum()))
        B_top = sp.csr_matrix(B[:, top])
        target = cooccurrence_distributions(B_top, self.cooccurrence)
        trainable = np.flatnonzero(np.diff(target.indptr) > 0)
        if len(trainable) < 2:
            raise ValueError("item2vec: fewer than 2 items share a listener in train; nothing to learn")
        history = History()
        with torch_session(self.random_state, effective_threads(self.num_threads, csr.nnz)) as gen:
            emb, out_w, out_b = train_kl_item2vec(
                target, trainable, factors=int(self.factors), epochs=int(self.epochs),
                batch_size=int(self.batch_size), learning_rate=float(self.learning_rate), gen=gen,
                history=history)
        emb[np.diff(target.indptr) == 0] = 0.0  # never trained: no co-listener
        inputs, contexts, bias = _extend(B, top, listeners, emb, out_w, out_b)
        self.trained_items_ = top[np.diff(target.indptr) > 0]
        self._finish(csr, inputs, contexts, bias, listeners)
        self.history_ = history.rows
        return self


def _extend(B: sp.csr_matrix, top: np.ndarray, listeners: np.ndarray, emb: np.ndarray,
            out_w: np.ndarray, out_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors of every item from those of the trained ``top`` items (n_top rows each).

    Items outside ``top`` with listeners get the co-occurrence-weighted mean of the top items'
    input embeddings and output weights, and an output bias extrapolated from the top items'
    (least squares of ``b`` on ``log(listeners)``: the bias of a softmax over co-listened items
    grows with the item's listeners). Returns ``(inputs, contexts, bias)`` for all n_items.
    """
    n_items, d = B.shape[1], emb.shape[1]
    inputs = np.zeros((n_items, d), dtype=np.float32)
    contexts = np.zeros((n_items, d), dtype=np.float32)
    bias = np.full(n_items, out_b.min(), dtype=np.float32)
    inputs[top], contexts[top], bias[top] = emb, out_w, out_b
    rest = np.setdiff1d(np.flatnonzero(listeners > 0), top)
    if not len(rest):
        return inputs, contexts, bias
    B_top = sp.csr_matrix(B[:, top])
    for start in range(0, len(rest), 4096):
        block = rest[start : start + 4096]
        weights = cooccurrence_distributions_rows((sp.csr_matrix(B[:, block]).T @ B_top).tocsr())
        inputs[block] = np.asarray(weights @ emb, dtype=np.float32)
        contexts[block] = np.asarray(weights @ out_w, dtype=np.float32)
    x = np.log(listeners[top])
    slope, intercept = np.polyfit(x, out_b, 1) if np.ptp(x) > 0 else (0.0, float(out_b.mean()))
    bias[rest] = np.minimum(intercept + slope * np.log(listeners[rest]), out_b.min())
    return inputs, contexts, bias


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
class SkipGramNS(_ContextScoring):
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
        Noise items per pair, drawn from listener counts ** ``ns_exponent``.
    ns_exponent : float
        Exponent of the noise distribution (word2vec's 0.75; 0 uniform, 1 unigram).
    batch_size : int
        Pairs per mini-batch. 1,024 scored as 512 on the validation splits (MovieLens 100K,
        3 seeds: 0.2176 both; simulated songs higher) at about 0.6x the CPU (docs/quality.md).
    learning_rate : float
        SparseAdam step size.
    random_state, num_threads : int
        Seed of every random step; torch threads during ``fit``.
    """

    description = (
        "item2vec as skip-gram with negative sampling (Barkan & Koenigstein 2016, PyTorch): item "
        "pairs drawn from each user's item set. Cosine neighbours; a user's score for an item is "
        "the mean over their played items of the model's logit plus the log noise probability (an "
        "estimate of log p(item | played item)).")
    hyperparameters = {
        "factors": Param("Embedding size.", sweep="f", minimum=1, grid=True),
        "contexts": Param(
            "Context items drawn per stored (user, item) entry per epoch.",
            sweep="c", minimum=1),
        "negatives": Param(
            "Noise items per pair (listener counts ** ns_exponent).",
            sweep="n", minimum=1),
        "epochs": Param("Passes; each draws new context pairs.", sweep="e", minimum=1),
        "learning_rate": Param("SparseAdam step size.", sweep="lr", exclusive_minimum=0),
        "ns_exponent": Param(
            "Exponent of the listener counts in the noise distribution of the negatives "
            "(word2vec's 0.75; 0 = uniform, 1 = unigram); the score adds back log P_n.",
            sweep="ns"),
        "batch_size": Param(
            "Pairs per mini-batch (raise it, e.g. to 16384, for millions of entries). 1024 scored "
            "as 512 on the validation splits at about 0.6x the CPU (docs/quality.md).",
            minimum=1),
    }
    search_space = {"factors": Int(8, 64, log=True), "contexts": Int(2, 20),
                    "learning_rate": Float(0.003, 0.1), "epochs": Int(1, 5)}

    def __init__(self, factors: int = 16, epochs: int = 3, contexts: int = 10, negatives: int = 5,
                 ns_exponent: float = 0.75, batch_size: int = 1024, learning_rate: float = 0.01,
                 random_state: int = 0, num_threads: int = 1):
        self.factors = factors
        self.epochs = epochs
        self.contexts = contexts
        self.negatives = negatives
        self.ns_exponent = ns_exponent
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, train: sp.csr_matrix) -> SkipGramNS:
        """Learn from ``train`` (users x items play counts, CSR); returns ``self``."""
        from tastemap.models._train import train_sgns

        _check_positive("sgns", self, "factors", "epochs", "contexts", "negatives", "batch_size")
        csr = check_matrix(train)
        self._set_train(csr)
        B = _binary(csr)
        B.sort_indices()
        listeners = np.diff(B.tocsc().indptr)
        noise = np.where(listeners > 0, listeners.astype(np.float64) ** float(self.ns_exponent), 0.0)
        rng = np.random.default_rng(self.random_state)
        history = History()
        with torch_session(self.random_state, effective_threads(self.num_threads, csr.nnz)) as gen:
            v_in, v_out = train_sgns(
                lambda: sample_context_pairs(B, int(self.contexts), rng), noise,
                factors=int(self.factors), epochs=int(self.epochs), negatives=int(self.negatives),
                batch_size=int(self.batch_size), learning_rate=float(self.learning_rate), gen=gen,
                history=history)
        # log P_n(j): turns the PMI the logit estimates back into log p(j | i) (module docstring)
        bias = np.log(np.maximum(noise, 1e-30) / noise.sum())
        self._finish(csr, v_in, v_out, bias, listeners)
        self.history_ = history.rows
        return self
