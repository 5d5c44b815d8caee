"""Neighbourhood recommenders: item-kNN and user-kNN, both on implicit's sparse top-K kNN.

Item-kNN uses implicit's ``CosineRecommender`` / ``BM25Recommender`` / ``TFIDFRecommender`` (an
items x items similarity matrix holding the ``neighbours`` best of each row). User-kNN is the same
machinery turned around: implicit's ``CosineRecommender`` fitted on the *transposed* matrix gives a
sparse users x users matrix with ``neighbours`` entries per row, computed in C++ without ever
forming a dense users x users matrix; the scores of a block of users are then
``S[block] @ X`` (sparse x sparse). The dense 10,000-user version of the course notebook needed
users^2 floats.

Play counts are heavy-tailed, so both score with a damped weight of the plays (``weighting``:
``log`` = log(1 + r), ``binary``, or ``raw``).

:class:`ItemWeights` is the scoring shared by the linear item-item families whose fitted state is
one sparse items x items matrix ``W_`` (P3alpha, RP3beta, SLIM): scores, fold-in, similar items
and explanations from ``W_``.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import Recommender, register, top_k, top_k_sparse
from tastemap.models.params import Param
from tastemap.models.space import Choice, Int

logger = logging.getLogger(__name__)

WEIGHTINGS = ("log", "binary", "raw")


def weigh(plays: sp.csr_matrix, weighting: str = "log") -> sp.csr_matrix:
    """Damp play counts (users x items): ``log`` -> log(1 + r), ``binary`` -> 1, ``raw`` -> r.

    >>> weigh(sp.csr_matrix(np.array([[0.0, np.e - 1]])), "log").toarray().round(6).tolist()
    [[0.0, 1.0]]
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting {weighting!r}: use one of {', '.join(WEIGHTINGS)}")
    X = sp.csr_matrix(plays, dtype=np.float32, copy=True)
    X.eliminate_zeros()
    X.sort_indices()
    if weighting == "log":
        X.data = np.log1p(X.data)
    elif weighting == "binary":
        X.data[:] = 1.0
    return X


def _drop_self(S: sp.spmatrix, k: int) -> sp.csr_matrix:
    """Remove the diagonal of a square kNN matrix and keep the ``k`` largest entries per row
    (vectorised: one lexsort over the stored entries, no Python loop over rows).

    >>> S = sp.csr_matrix(np.array([[1.0, 0.5, 0.7], [0.2, 1.0, 0.0], [0.3, 0.9, 1.0]]))
    >>> _drop_self(S, 1).toarray().tolist()
    [[0.0, 0.0, 0.699999988079071], [0.20000000298023224, 0.0, 0.0], [0.0, 0.8999999761581421, 0.0]]
    """
    S = sp.coo_matrix(S)
    keep = (S.row != S.col) & (S.data != 0)
    rows, cols, vals = S.row[keep], S.col[keep], S.data[keep].astype(np.float32)
    order = np.lexsort((cols, -vals, rows))  # by row, best first, ties by column
    rows, cols, vals = rows[order], cols[order], vals[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    keep = rank < k
    out = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=S.shape)
    out.sort_indices()
    return out


def linear_explanations(
    weights: sp.csr_matrix, M, item_idx: np.ndarray, n: int = 5
) -> list[tuple[float, list[tuple[int, float]]]]:
    """Contributions of the played items to the scores of a linear item-item model,
    ``score_j = sum_i weights_i * M[i, j]`` (item-kNN: ``M`` = similarities; EASE: ``M`` = B).

    ``weights`` is one user's weighted play row (1 x n_items), ``M`` an n_items x n_items sparse
    or dense matrix. For each item of ``item_idx``: ``(score, [(played item, weights_i * M[i, j]),
    ...])``, the ``n`` largest contributions first, zero ones left out (the same format as
    ``ALS.explain``).

    >>> w = sp.csr_matrix(np.array([[2.0, 0.0, 1.0]]))
    >>> M = np.array([[0.0, 0.5, 0.1], [0.5, 0.0, 0.0], [0.1, 0.4, 0.0]])
    >>> linear_explanations(w, M, np.array([1]), n=5)
    [(1.4, [(0, 1.0), (2, 0.4)])]
    """
    weights = sp.csr_matrix(weights)
    played, w = weights.indices, weights.data.astype(np.float64)
    block = M[played][:, np.asarray(item_idx)]
    block = block.toarray() if sp.issparse(block) else np.asarray(block)
    contrib = w[:, None] * block  # (n_played, n_items asked)
    out = []
    for col in range(contrib.shape[1]):
        order = np.argsort(-contrib[:, col], kind="stable")
        top = [(int(played[i]), float(contrib[i, col])) for i in order if contrib[i, col] != 0][:n]
        out.append((float(contrib[:, col].sum()), top))
    return out


class ItemWeights(Recommender):
    """Base of the linear item-item families with a sparse weight matrix ``W_`` (n_items x
    n_items CSR, zero diagonal): score of user ``u`` for item ``j`` = ``sum_i w(r_ui) W[i, j]``,
    ``w`` from the subclass's ``weighting`` (see :func:`weigh`; ``r_u`` from the training matrix,
    not saved). Only items with a stored score are candidates (``scoring = "sparse"``); new users
    score from their rows, similar items of ``i`` are the largest ``W[i, j]``, and ``explain``
    gives each played item's ``w(r_ui) W[i, j]``. A subclass sets ``W_`` in ``fit``."""

    folds_in = True
    scoring = "sparse"
    explains = True
    weighting: str = "log"

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self._score_sparse(user_idx).toarray()

    def _score_sparse(self, user_idx: np.ndarray) -> sp.csr_matrix:
        return (weigh(self.train[user_idx], self.weighting) @ self.W_).tocsr()

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return (weigh(user_items, self.weighting) @ self.W_).toarray()

    def _similar_items(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` largest weights ``W[i, j]`` of each item's row (padded with -1 / -inf)."""
        return top_k_sparse(self.W_[np.asarray(item_idx)], k)

    def explain(self, user_row: sp.csr_matrix, item_idx: np.ndarray, n: int = 5):
        """Which played items made the score of each item of ``item_idx`` (their weights in
        ``W_``), for one play row (1 x n_items): see :func:`linear_explanations`."""
        return linear_explanations(weigh(user_row, self.weighting), self.W_, item_idx, n)


@register("itemknn")
class ItemKNN(Recommender):
    """Item-item nearest neighbours (implicit).

    Parameters
    ----------
    neighbours : int
        Neighbours kept per item (implicit's ``K``).
    similarity : {"cosine", "bm25", "tfidf"}
        implicit's ``CosineRecommender``, ``BM25Recommender`` or ``TFIDFRecommender``.
    weighting : {"log", "binary", "raw"}
        Damping of play counts before the similarity and in the scores (see :func:`weigh`).
    bm25_k1, bm25_b
        BM25 parameters (``similarity: bm25`` only).
    random_state
        Unused (the model is deterministic); accepted for the common interface.

    Attributes (after ``fit``): ``similarity_`` (n_items x n_items CSR, row ``i`` = the
    neighbours of item ``i``, itself excluded).
    Score of user ``u`` for item ``j``: ``sum_i w(r_ui) * S[i, j]`` (``r_u`` from the training
    matrix, which is not saved with the model).
    """

    description = "Item-item nearest neighbours (implicit Cosine/BM25/TF-IDF recommenders)."
    hyperparameters = {
        "neighbours": Param("Neighbours kept per item.", sweep="k", minimum=1, grid=True),
        "similarity": Param(
            "implicit's CosineRecommender, BM25Recommender or TFIDFRecommender.",
            sweep="s", choices=("cosine", "bm25", "tfidf")),
        "weighting": Param(
            "Damping of play counts before the similarity and in the scores (log = log(1 + r)).",
            sweep="w", choices=("log", "binary", "raw")),
        "bm25_k1": Param("BM25 K1 (similarity bm25).", sweep="bk", exclusive_minimum=0),
        "bm25_b": Param("BM25 B (similarity bm25).", sweep="bb", minimum=0, maximum=1),
    }
    search_space = {"neighbours": Int(5, 1000, log=True),
                    "similarity": Choice(("cosine", "tfidf", "bm25")),
                    "weighting": Choice(("log", "binary"))}
    folds_in = True
    similar_by = "item-item similarity (cosine, BM25 or TF-IDF), top neighbours"
    scoring = "sparse"
    #: ``explain``: the played neighbours ``i`` with the largest ``w(r_ui) * S[i, j]``
    explains = True

    def __init__(self, neighbours: int = 100, similarity: str = "tfidf", weighting: str = "log",
                 bm25_k1: float = 1.2, bm25_b: float = 0.75, random_state: int = 0):
        self.neighbours = neighbours
        self.similarity = similarity
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> ItemKNN:
        from implicit import nearest_neighbours as nn

        X = weigh(self._set_train(train), self.weighting)
        if self.similarity == "cosine":
            model = nn.CosineRecommender(K=self.neighbours + 1, num_threads=self.num_threads)
        elif self.similarity == "tfidf":
            model = nn.TFIDFRecommender(K=self.neighbours + 1, num_threads=self.num_threads)
        elif self.similarity == "bm25":
            model = nn.BM25Recommender(K=self.neighbours + 1, K1=self.bm25_k1, B=self.bm25_b,
                                       num_threads=self.num_threads)
        else:
            raise ValueError(f"similarity {self.similarity!r}: use cosine, bm25 or tfidf")
        logger.info("item-kNN (%s, K=%d) on %d x %d, %d plays", self.similarity,
                    self.neighbours, *X.shape, X.nnz)
        with warnings.catch_warnings():  # implicit converts its own COO weighting to CSR
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model.fit(X, show_progress=False)
        self.similarity_ = _drop_self(model.similarity, self.neighbours)
        return self

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self._score_sparse(user_idx).toarray()

    def _score_sparse(self, user_idx: np.ndarray) -> sp.csr_matrix:
        return (weigh(self.train[user_idx], self.weighting) @ self.similarity_).tocsr()

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return (weigh(user_items, self.weighting) @ self.similarity_).toarray()

    def _similar_items(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest neighbours of each item (padded with -1 / -inf past ``neighbours``)."""
        return top_k_sparse(self.similarity_[np.asarray(item_idx)], k)

    def explain(self, user_row: sp.csr_matrix, item_idx: np.ndarray, n: int = 5):
        """Which played items (neighbours of each item of ``item_idx``) made its score, for one
        play row (1 x n_items, a known or a new user): see :func:`linear_explanations`."""
        return linear_explanations(weigh(user_row, self.weighting), self.similarity_, item_idx, n)


@register("userknn")
class UserKNN(Recommender):
    """User-user nearest neighbours: cosine over users, ``neighbours`` per user, sparse.

    Score of user ``u`` for item ``j``: ``sum_{v in N(u)} cos(u, v) * w(r_vj)``; ``N(u)`` never
    contains ``u``. Similar items use the cosine of item columns (implicit's all-pairs kNN).

    Attributes (after ``fit``): ``neighbours_`` (n_users x n_users CSR, ``neighbours`` per
    row), ``item_similarity_`` (n_items x n_items CSR). The neighbours' weighted plays come from
    the training matrix (not saved with the model; cached as ``_weights``).
    """

    description = "User-user nearest neighbours (cosine, sparse top-k; implicit's all-pairs kNN)."
    hyperparameters = {
        "neighbours": Param("Neighbours per user.", sweep="k", minimum=1, grid=True),
        "weighting": Param(
            "Damping of play counts (log = log(1 + r)).",
            sweep="w", choices=("log", "binary", "raw")),
    }
    search_space = {"neighbours": Int(5, 1000, log=True), "weighting": Choice(("log", "binary"))}
    folds_in = True
    similar_by = "cosine of item columns, top neighbours"
    scoring = "sparse"
    _weights: sp.csr_matrix | None = None
    _norms: np.ndarray | None = None

    def __init__(self, neighbours: int = 100, weighting: str = "log", random_state: int = 0):
        self.neighbours = neighbours
        self.weighting = weighting
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> UserKNN:
        from implicit.nearest_neighbours import CosineRecommender

        self._set_train(train)
        self._attached()
        X = self._weights
        logger.info("user-kNN (K=%d) on %d x %d, %d plays", self.neighbours, *X.shape, X.nnz)
        users = CosineRecommender(K=self.neighbours + 1, num_threads=self.num_threads)
        items = CosineRecommender(K=self.neighbours + 1, num_threads=self.num_threads)
        with warnings.catch_warnings():  # implicit converts its own COO weighting to CSR
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            users.fit(X.T.tocsr(), show_progress=False)  # users are the "items" here
            items.fit(X, show_progress=False)
        self.neighbours_ = _drop_self(users.similarity, self.neighbours)
        self.item_similarity_ = _drop_self(items.similarity, self.neighbours)
        return self

    def _attached(self) -> None:
        """Weighted plays of every user and their norms, from the training matrix."""
        self._weights = weigh(self.train, self.weighting)
        self._norms = np.sqrt(np.asarray(self._weights.multiply(self._weights).sum(axis=1)).ravel())

    @property
    def weights(self) -> sp.csr_matrix:
        """Weighted plays (users x items) the neighbours' scores are summed from."""
        if self._weights is None:
            self._attached()
        return self._weights

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self._score_sparse(user_idx).toarray()

    def _score_sparse(self, user_idx: np.ndarray) -> sp.csr_matrix:
        return (self.neighbours_[user_idx] @ self.weights).tocsr()

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Neighbours of a new user: cosine against every known user (sparse), top ``neighbours``."""
        W = weigh(user_items, self.weighting)
        norms = np.sqrt(np.asarray(W.multiply(W).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        weights = self.weights
        known = self._norms.copy()
        known[known == 0] = 1.0
        sims = (W @ weights.T).toarray() / norms[:, None] / known[None, :]
        ids, best = top_k(sims, self.neighbours)
        ok = ids >= 0
        rows = np.repeat(np.arange(len(ids)), ok.sum(axis=1))
        S = sp.csr_matrix((best[ok], (rows, ids[ok])), shape=(W.shape[0], self.n_users))
        return (S @ weights).toarray()

    def _similar_items(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return top_k_sparse(self.item_similarity_[np.asarray(item_idx)], k)
