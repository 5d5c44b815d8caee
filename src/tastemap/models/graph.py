"""Random-walk item-item recommenders: P3alpha (Cooper et al. 2014, "Random walks in recommender
systems: exact computation and simulations") and RP3beta (Paudel et al. 2017, "Updatable,
accurate, diverse, and scalable recommendations for interactive applications").

Both follow the reference implementation of Ferrari Dacrema et al. ("Are we really making much
progress?", RecSys 2019; repository MaurizioFD/RecSys2019_DeepLearning_Evaluation, files
``GraphBased/P3alphaRecommender.py`` and ``GraphBased/RP3betaRecommender.py``, commit f5618c6):

1. ``X = w(plays)``, users x items (``weighting``; ``raw`` is the reference's input, the ratings
   themselves; the default is ``log``, see below).
2. ``P_ui`` = ``X`` with each row divided by its sum (user -> item transition probabilities),
   then every stored entry raised to ``alpha``.
3. ``P_iu`` = the *binary* ``X^T`` (items x users) with each row divided by its sum (item -> user:
   uniform over the item's listeners), then every stored entry raised to ``alpha``.
4. ``S = P_iu P_ui`` (items x items: ``S[i, j]`` is the weight of the walks ``i -> u -> j``).
   RP3beta divides column ``j`` by ``pop_j ** beta``, ``pop_j`` = the listeners of ``j`` (0 for
   an item nobody played).
5. The diagonal is set to 0 and each row ``i`` keeps its ``neighbours`` (the reference's
   ``topK``) largest non-zero entries.
6. ``normalize_similarity``: each row is divided by its sum.
7. Each *column* ``j`` keeps its ``neighbours`` largest entries (the reference's
   ``similarityMatrixTopK``, applied after the row selection: an item stays in at most
   ``neighbours`` rows as well). The result is ``W_`` (n_items x n_items CSR, float32).
8. Scores: ``w(r_u) W`` (:class:`tastemap.models.knn.ItemWeights`).

Where this differs from the reference code, and why:

* Ties at the ``neighbours`` cut go to the smaller item index, in rows and in columns (the
  reference keeps the order of numpy's default ``argsort``, a quicksort that leaves ties in no
  specified order): the same model on every machine.
* ``S`` is computed and selected in float64 and stored as float32 (the reference multiplies in
  the matrix's float32, RP3beta's column division in float64): selections can differ only
  between weights that are equal to float32 precision.
* ``weighting`` defaults to ``log`` (``log(1 + plays)``), as item-kNN: play counts are
  heavy-tailed, and on the validation split of the simulated default (artists) ``raw`` gave
  nDCG@10 0.200 (P3alpha) and 0.234 (RP3beta), ``log`` 0.216 and 0.272. ``weighting: raw`` is
  the reference's definition.
* The reference's ``min_rating`` and ``implicit`` are not exposed: at its defaults
  (``min_rating=0``) they change nothing; its ``implicit=True`` (ratings set to 1, applied
  together with ``min_rating > 0``) is ``weighting: binary`` here.
* Items with no stored score are not candidates in ``recommend`` (``scoring = "sparse"``, as
  item-kNN): the reference's dense scores put them, all at 0, after every scored item in
  ``argsort`` order.
* ``S`` is formed in blocks of rows sized by memory (``block_entries``) rather than the
  reference's 200 rows; the blocks do not change the result.
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import register
from tastemap.models.knn import ItemWeights, weigh
from tastemap.models.params import Param
from tastemap.models.space import Choice, Float, Int

logger = logging.getLogger(__name__)


def l1_rows(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Each row of a non-negative sparse matrix divided by its sum (empty rows stay empty), as
    float64 CSR (scikit-learn's ``normalize(norm="l1", axis=1)`` for non-negative data).

    >>> l1_rows(sp.csr_matrix(np.array([[1.0, 3.0], [0.0, 0.0]]))).toarray().tolist()
    [[0.25, 0.75], [0.0, 0.0]]
    """
    M = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    sums = np.asarray(M.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    M.data /= np.repeat(sums, np.diff(M.indptr))
    return M


def top_per_row(S: sp.spmatrix, k: int, first_row: int = 0,
                drop_diagonal: bool = False) -> sp.csr_matrix:
    """The ``k`` largest non-zero entries of each row of ``S`` (ties: the smaller column), as CSR
    of ``S``'s shape and dtype. ``drop_diagonal``: entries at ``(r, first_row + r)`` are removed
    first (``S`` being rows ``first_row ...`` of a square matrix).

    >>> S = sp.csr_matrix(np.array([[0.5, 0.9, 0.5, 0.5], [0.2, 0.7, 0.1, 0.0]]))
    >>> top_per_row(S, 2, first_row=1, drop_diagonal=True).toarray().tolist()
    [[0.5, 0.0, 0.5, 0.0], [0.2, 0.7, 0.0, 0.0]]
    """
    S = sp.coo_matrix(S)
    keep = S.data != 0
    if drop_diagonal:
        keep &= S.row.astype(np.int64) + first_row != S.col
    rows, cols, vals = S.row[keep], S.col[keep], S.data[keep]
    order = np.lexsort((cols, -vals, rows))  # by row, largest first, ties by column
    rows, cols, vals = rows[order], cols[order], vals[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    keep = rank < k
    out = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=S.shape, dtype=S.dtype)
    out.sort_indices()
    return out


def random_walk_weights(X: sp.csr_matrix, alpha: float, neighbours: int,
                        beta: float | None = None, normalize: bool = False,
                        block_entries: int = 2**22) -> sp.csr_matrix:
    """``W`` of P3alpha (``beta=None``) or RP3beta from the weighted plays ``X`` (users x items):
    steps 2-7 of the module docstring. ``S`` is formed ``block_entries // n_items`` rows at a
    time."""
    n_items = X.shape[1]
    P_ui = l1_rows(X)
    binary = sp.csr_matrix(X.T, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    P_iu = l1_rows(binary)
    if alpha != 1.0:
        P_ui.data **= alpha
        P_iu.data **= alpha
    scale = None
    if beta is not None:
        listeners = np.diff(binary.indptr).astype(np.float64)
        scale = np.zeros(n_items)
        played = listeners > 0
        scale[played] = listeners[played] ** -beta
    step = max(1, block_entries // max(1, n_items))
    blocks = []
    for b0 in range(0, n_items, step):
        S = (P_iu[b0 : b0 + step] @ P_ui).tocsr()
        if scale is not None:
            S.data *= scale[S.indices]
        blocks.append(top_per_row(S, neighbours, first_row=b0, drop_diagonal=True))
    W = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((n_items, n_items))
    if normalize:
        W = l1_rows(W)
    W = top_per_row(W.T, neighbours).T.tocsr()
    W = W.astype(np.float32)
    W.sort_indices()
    return W


class _RandomWalk(ItemWeights):
    """Shared fit of P3alpha and RP3beta (``beta`` None for P3alpha)."""

    beta: float | None = None

    def fit(self, train: sp.csr_matrix) -> _RandomWalk:
        X = weigh(self._set_train(train), self.weighting)
        logger.info("%s (alpha=%g, beta=%s, %d neighbours) on %d x %d, %d plays", self.name,
                    self.alpha, self.beta, self.neighbours, *X.shape, X.nnz)
        self.W_ = random_walk_weights(X, float(self.alpha), int(self.neighbours),
                                      beta=None if self.beta is None else float(self.beta),
                                      normalize=bool(self.normalize_similarity))
        self.history_ = []
        return self


@register("p3alpha")
class P3Alpha(_RandomWalk):
    """P3alpha: three-step random walk user -> item -> user -> item, transition probabilities
    raised to ``alpha`` (see the module docstring for the exact definition).

    Parameters
    ----------
    neighbours : int
        Entries kept per row, then per column, of ``W`` (the reference's ``topK``).
    alpha : float
        Exponent of the transition probabilities (1 = the plain walk, P3).
    normalize_similarity : bool
        Divide each row of ``W`` by its sum before the column selection.
    weighting : {"log", "binary", "raw"}
        Plays as the user -> item transitions and in the scores (see :func:`weigh`; ``raw``
        = the reference).
    random_state : unused (deterministic), kept for the interface.

    Attributes (after ``fit``): ``W_`` (n_items x n_items CSR float32, zero diagonal).
    """

    description = (
        "P3alpha (Cooper et al. 2014): item-item weights W = P_iu P_ui of the random walk item -> "
        "user -> item, transition probabilities raised to alpha, top neighbours per row then per "
        "column; scores w(r_u) W. The definitions of Ferrari Dacrema et al.'s reference code "
        "(docs/models.md).")
    hyperparameters = {
        "neighbours": Param(
            "Entries of W kept per item, in its row and then in its column (the reference's topK).",
            sweep="k", minimum=1, grid=True),
        "alpha": Param(
            "Exponent of the transition probabilities (1 = the plain walk, P3).",
            sweep="a", exclusive_minimum=0),
        "normalize_similarity": Param(
            "Divide each row of W by its sum before the column selection.",
            sweep="n"),
        "weighting": Param(
            "Plays as user -> item transitions and in the scores (log = log(1 + r); raw = the "
            "reference).",
            sweep="w", choices=("log", "binary", "raw")),
    }
    search_space = {"neighbours": Int(5, 1000, log=True), "alpha": Float(0.0, 2.0, log=False),
                    "normalize_similarity": Choice((False, True))}
    similar_by = "P3alpha walk weights W[i, j], top neighbours"

    def __init__(self, neighbours: int = 100, alpha: float = 1.0,
                 normalize_similarity: bool = False, weighting: str = "log",
                 random_state: int = 0):
        self.neighbours = neighbours
        self.alpha = alpha
        self.normalize_similarity = normalize_similarity
        self.weighting = weighting
        self.random_state = random_state


@register("rp3beta")
class RP3Beta(_RandomWalk):
    """RP3beta: P3alpha with the weight of each reached item ``j`` divided by its popularity
    (listeners) to the power ``beta`` (see the module docstring for the exact definition).

    Parameters
    ----------
    neighbours, alpha, weighting
        As :class:`P3Alpha`.
    beta : float
        Popularity penalty exponent (0 = P3alpha).
    normalize_similarity : bool
        Divide each row of ``W`` by its sum before the column selection (the reference's
        default: true).
    random_state : unused (deterministic), kept for the interface.

    Attributes (after ``fit``): ``W_`` (n_items x n_items CSR float32, zero diagonal).
    """

    description = (
        "RP3beta (Paudel et al. 2017): P3alpha with column j of W divided by the popularity "
        "(listeners) of j to the power beta. The definitions of Ferrari Dacrema et al.'s reference"
        " code (docs/models.md).")
    hyperparameters = {
        "neighbours": Param(
            "Entries of W kept per item, in its row and then in its column (the reference's topK).",
            sweep="k", minimum=1, grid=True),
        "alpha": Param("Exponent of the transition probabilities.", sweep="a", exclusive_minimum=0),
        "beta": Param(
            "Popularity penalty, W[i, j] / listeners(j)^beta (0 = P3alpha).",
            sweep="b", minimum=0),
        "normalize_similarity": Param(
            "Divide each row of W by its sum before the column selection (the reference's "
            "default).",
            sweep="n"),
        "weighting": Param(
            "Plays as user -> item transitions and in the scores (log = log(1 + r); raw = the "
            "reference).",
            sweep="w", choices=("log", "binary", "raw")),
    }
    search_space = {"neighbours": Int(5, 1000, log=True), "alpha": Float(0.0, 2.0, log=False),
                    "beta": Float(0.0, 1.0, log=False), "normalize_similarity": Choice((False, True))}
    similar_by = "RP3beta walk weights W[i, j] (popularity-penalised), top neighbours"

    def __init__(self, neighbours: int = 100, alpha: float = 1.0, beta: float = 0.6,
                 normalize_similarity: bool = True, weighting: str = "log",
                 random_state: int = 0):
        self.neighbours = neighbours
        self.alpha = alpha
        self.beta = beta
        self.normalize_similarity = normalize_similarity
        self.weighting = weighting
        self.random_state = random_state
