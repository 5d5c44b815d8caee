"""The one recommender interface every model family implements.

Orientation everywhere: matrices are **users x items** CSR (rows = ``user_idx``, columns =
``artist_idx`` or ``song_idx``), values are play counts (float32). Batch calls take arrays of
user or item indices and return ``(ids, scores)`` arrays of shape ``(n, k)``.

A subclass declares what it is in class attributes (``sweep_prefixes``, ``folds_in``,
``has_factors``, ``has_loss_curve``, ``predicts_ratings``, ``explains``, ``similar_by``,
``scoring``: see :class:`Recommender`; :mod:`tastemap.models.registry` reads them without
fitting anything) and implements ``fit`` and the scoring its declarations promise: ``_score``
(dense scores of a block of known users), ``_dot_vectors`` (``scoring = "dot"``),
``_score_sparse`` (``scoring = "sparse"``), ``_score_new`` (``folds_in``: users the model has not
seen, from their item rows), ``_similar_items`` (unless the cosine of the item factors is its
item similarity). ``recommend``, ``recommend_new``, ``similar_items``, ``save`` and ``load``
come from here, and check the declarations.

Conventions shared by every family:

* ``num_threads`` is a run-time setting, not a hyper-parameter: the caller sets it on the
  instance before ``fit`` (the workflow passes the rule's ``threads``). Scoring in ``recommend``
  raises the BLAS thread count to it (threadpoolctl) while the workflow keeps BLAS single-threaded
  elsewhere for implicit's sake.
* Fitted state lives in attributes whose names end in ``_`` (numpy arrays, scipy sparse
  matrices, JSON values, dicts of arrays): ``save`` writes exactly those to one ``.npz`` (see
  :mod:`tastemap.models.store`; no pickle), ``load`` rebuilds the model from them.
* The training matrix is not part of the fitted state: ``fit`` keeps a reference to it for
  ``recommend`` (played items are excluded; kNN and EASE score a user from their row), and a
  loaded model gets it back with ``load(path, train=matrix)`` - the workflow's results folder
  has it next to every model, and its fingerprint (saved) refuses any other matrix.
* ``history_``: a fitted model may carry its training curve as a list of
  ``(epoch: int, split: "train"|"valid", metric: str, value: float)`` tuples; the workflow writes
  it to ``history.parquet`` (closed-form models leave it empty).
"""
from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.sparse as sp

from tastemap.logs import Progress
from tastemap.models import store
from tastemap.models.registry import FAMILIES, MODELS, get, make, register  # noqa: F401
from tastemap.models.space import Dimension

logger = logging.getLogger(__name__)

#: how ``recommend`` scores known users (``Recommender.scoring``)
SCORINGS = ("dense", "dot", "sparse")


class NoTrainingMatrix(RuntimeError):
    """A loaded model was asked for something that needs the matrix it was fit on."""


class Diverged(RuntimeError):
    """The fit diverged at these hyper-parameters (e.g. NaN factors at too high a learning
    rate): an outcome of the values, not a bug. A validation search scores such a trial 0."""


def plays_csr(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Users x items play counts as float32 CSR with sorted indices and no stored zeros (the
    caller's matrix itself when it already is one, else a copy)."""
    X = sp.csr_matrix(matrix, dtype=np.float32)
    if X.nnz and not X.data.all():
        X = X.copy()
        X.eliminate_zeros()
    if not X.has_sorted_indices:
        X = X.copy()
        X.sort_indices()
    return X


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` columns of every row of a dense score block, best first.

    Entries scored ``-inf`` (excluded) never appear; where a row has fewer than ``k`` finite
    scores the tail is padded with id ``-1`` and score ``-inf``. Uses ``torch.topk`` (a partial
    selection, O(n_items) per row, on torch's intra-op threads): on a 512 x 292K block it took
    1.0 s against 7-11 s for ``np.argpartition`` + sort on the same machine (both one thread).

    >>> ids, s = top_k(np.array([[0.25, 0.75, -np.inf, 0.5]]), 2)
    >>> ids.tolist(), s.tolist()
    ([[1, 3]], [[0.75, 0.5]])
    """
    import torch

    n, m = scores.shape
    k_eff = min(k, m)
    block = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))
    best_t, ids_t = torch.topk(block, k_eff, dim=1, largest=True, sorted=True)
    ids = ids_t.numpy().astype(np.int32)
    best = best_t.numpy().astype(np.float32, copy=False)
    ids[~np.isfinite(best)] = -1
    if k_eff < k:
        ids = np.pad(ids, ((0, 0), (0, k - k_eff)), constant_values=-1)
        best = np.pad(best, ((0, 0), (0, k - k_eff)), constant_values=-np.inf)
    return ids, best


def top_k_dot(
    queries: np.ndarray,
    items: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    block_rows: int = 1024,
    chunk: int = 8192,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` of ``queries @ items.T`` for every query row, best first.

    ``exclude`` (``len(queries) x len(items)``, CSR): stored entries are never returned (the
    user's played items). Rows with fewer than ``k`` candidates are padded with ``-1`` / ``-inf``,
    as in :func:`top_k`.

    Written by hand because no dependency does this: implicit's batched ``recommend`` scores
    every (user, item) pair into dense blocks and took ~4 min for Last.fm-360K's users on this
    machine. Here:

    * the scores of a block of queries are computed in tiles of ``block_rows x chunk`` (a few MB,
      so they are written and selected while still in cache, not streamed through memory as a
      358K x 150K dense matrix would be), each tile reduced with ``torch.topk`` and merged into
      the running top-``k``;
    * items are visited by decreasing norm. By Cauchy-Schwarz ``q . v <= |q| |v|``: once
      ``|q| |v|`` of a tile's first (largest) item is not above a query's current ``k``-th best
      score, nothing later can enter its list, and the query drops out of the remaining tiles;
      the block ends when every query has dropped out. Popularity-shaped catalogues (norms of
      factor vectors grow with an item's listeners) end after a fraction of the items. The result
      is exact: only items that cannot beat the ``k``-th score (at most tie it) are skipped.

    >>> ids, s = top_k_dot(np.array([[1.0, 0.0], [0.0, 1.0]]),
    ...                    np.array([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), 2)
    >>> ids.tolist(), s.tolist()
    ([[0, 2], [1, 2]], [[3.0, 1.0], [2.0, 1.0]])
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    n, m = len(queries), len(items)
    out_ids = np.full((n, k), -1, dtype=np.int32)
    out_scores = np.full((n, k), -np.inf, dtype=np.float32)
    if n == 0 or m == 0 or k == 0:
        return out_ids, out_scores
    if exclude is not None:
        exclude = sp.csr_matrix(exclude)
        if exclude.shape != (n, m):
            raise ValueError(f"exclude is {exclude.shape}, expected {(n, m)}")
    catalogue = _NormOrder.of(items)
    k_eff = min(k, m)
    qnorms = np.linalg.norm(queries, axis=1)
    buffer = np.empty(min(block_rows, n) * min(chunk, m), dtype=np.float32)
    for b0 in range(0, n, block_rows):
        b1 = min(n, b0 + block_rows)
        skip = None if exclude is None else catalogue.exclusions(exclude[b0:b1])
        ids, scores = _block_top_k(queries[b0:b1], qnorms[b0:b1], catalogue, k_eff, chunk,
                                   buffer, skip)
        out_ids[b0:b1, :k_eff] = ids
        out_scores[b0:b1, :k_eff] = scores
        if progress is not None:
            progress.update(b1)
    return out_ids, out_scores


class _NormOrder(NamedTuple):
    """Item vectors (m, d) in decreasing norm: ``order`` (position -> item), ``vectors`` and
    ``norms`` in that order, ``position`` (item -> position)."""

    order: np.ndarray
    vectors: np.ndarray
    norms: np.ndarray
    position: np.ndarray

    @classmethod
    def of(cls, items: np.ndarray) -> _NormOrder:
        items = np.asarray(items, dtype=np.float32)
        norms = np.linalg.norm(items, axis=1)
        order = np.argsort(-norms, kind="stable")
        position = np.empty(len(items), dtype=np.int64)
        position[order] = np.arange(len(items))
        return cls(order, np.ascontiguousarray(items[order]), norms[order], position)

    def exclusions(self, exclude: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """The stored entries of ``exclude`` (rows of one block x items) as (position, row)
        pairs sorted by position, so that each tile finds its own with a binary search."""
        pos = self.position[exclude.indices]
        row = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        by_pos = np.argsort(pos, kind="stable")
        return pos[by_pos], row[by_pos]


def _block_top_k(q: np.ndarray, qnorms: np.ndarray, catalogue: _NormOrder, k: int, chunk: int,
                 buffer: np.ndarray, skip: tuple[np.ndarray, np.ndarray] | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` item ids and scores (rows, k) of one block of queries ``q`` (rows, d), tile by
    tile of ``chunk`` items in decreasing norm (see :func:`top_k_dot`); ``skip``: the block's
    excluded (position, row) pairs; ``buffer``: scratch space for one tile."""
    import torch

    rows, m = len(q), len(catalogue.order)
    best = torch.full((rows, k), -torch.inf)
    best_pos = torch.full((rows, k), -1, dtype=torch.int64)
    for c0 in range(0, m, chunk):
        c1 = min(m, c0 + chunk)
        active = qnorms * catalogue.norms[c0] > best[:, -1].numpy()
        if not active.any():
            break
        act = np.flatnonzero(active)
        # into one reused buffer: a fresh array per tile costs page faults, not just BLAS
        tile = buffer[: len(act) * (c1 - c0)].reshape(len(act), c1 - c0)
        np.matmul(q if len(act) == rows else q[act], catalogue.vectors[c0:c1].T, out=tile)
        if skip is not None:
            lo, hi = np.searchsorted(skip[0], [c0, c1])
            r, c = skip[1][lo:hi], skip[0][lo:hi] - c0
            keep = active[r]
            tile[(np.cumsum(active) - 1)[r[keep]], c[keep]] = -np.inf
        _merge_tile(best, best_pos, act, tile, c0)
    scores = best.numpy()
    ids = catalogue.order[best_pos.numpy()].astype(np.int32)
    ids[~np.isfinite(scores)] = -1
    return ids, scores


def _merge_tile(best, best_pos, act: np.ndarray, tile: np.ndarray, c0: int) -> None:
    """Merge the scores ``tile`` (len(act), c) of the active rows ``act`` of a block, items at
    positions ``c0 ...``, into its running top-k ``best`` / ``best_pos`` (torch, rows x k)."""
    import torch

    k = best.shape[1]
    # only rows where some item of the tile beats the current k-th best need a selection
    # (a cheap comparison pass; most rows of later tiles have none)
    kth = best[torch.from_numpy(act), -1].numpy()
    hit = (tile > kth[:, None]).any(axis=1)
    n_hit = int(hit.sum())
    if n_hit == 0:
        return
    if n_hit < len(act) // 2:  # else selecting every row is cheaper than copying
        act, tile = act[hit], tile[hit]
    tile_best, tile_pos = torch.topk(torch.from_numpy(tile), min(k, tile.shape[1]), dim=1)
    act_t = torch.from_numpy(act)
    merged = torch.cat([best[act_t], tile_best], dim=1)
    merged_pos = torch.cat([best_pos[act_t], tile_pos + c0], dim=1)
    top, pick = torch.topk(merged, k, dim=1)
    best[act_t] = top
    best_pos[act_t] = torch.gather(merged_pos, 1, pick)


def top_k_sparse(scores: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` stored entries of every row of a sparse score matrix, best first.

    Only stored non-zero entries are candidates (a kNN model has no score elsewhere); rows with
    fewer are padded with ``-1`` / ``-inf``. Rows are grouped by their number of entries (powers of
    two), each group laid out as a padded dense array and reduced with ``torch.topk``: work in
    proportion to the stored entries, never to ``n_rows x n_items`` as densifying would be.

    >>> ids, s = top_k_sparse(sp.csr_matrix(np.array([[0, 3, 1, 2], [0, 0, 0, 5]], np.float32)), 2)
    >>> ids.tolist(), s.tolist()
    ([[1, 3], [3, -1]], [[3.0, 2.0], [5.0, -inf]])
    """
    import torch

    scores = sp.csr_matrix(scores, dtype=np.float32, copy=True)
    scores.eliminate_zeros()
    scores.sum_duplicates()
    n = scores.shape[0]
    ids = np.full((n, k), -1, dtype=np.int32)
    best = np.full((n, k), -np.inf, dtype=np.float32)
    lengths = np.diff(scores.indptr)
    group = np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64)
    group[lengths == 0] = -1
    for g in np.unique(group[group >= 0]):
        rows = np.flatnonzero(group == g)
        lens = lengths[rows]
        width = int(lens.max())
        local = np.repeat(np.arange(len(rows)), lens)
        offset = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        src = np.repeat(scores.indptr[rows], lens) + offset
        vals = np.full((len(rows), width), -np.inf, dtype=np.float32)
        cols = np.full((len(rows), width), -1, dtype=np.int32)
        vals[local, offset] = scores.data[src]
        cols[local, offset] = scores.indices[src]
        kk = min(k, width)
        top, pick = torch.topk(torch.from_numpy(vals), kk, dim=1)
        ids[rows, :kk] = np.take_along_axis(cols, pick.numpy(), axis=1)
        best[rows, :kk] = top.numpy()
    ids[~np.isfinite(best)] = -1
    return ids, best


def item_rows(item_idx: np.ndarray, n_items: int) -> sp.csr_matrix:
    """``len(item_idx) x n_items`` CSR with a 1 at ``(i, item_idx[i])``: excludes each item from
    its own similar-items list."""
    item_idx = np.asarray(item_idx)
    return sp.csr_matrix((np.ones(len(item_idx), np.float32), (np.arange(len(item_idx)), item_idx)),
                         shape=(len(item_idx), n_items))


def drop_stored(scores: sp.csr_matrix, seen: sp.csr_matrix) -> sp.csr_matrix:
    """``scores`` without the entries stored in ``seen`` (same shape; e.g. played items)."""
    scores = sp.csr_matrix(scores, dtype=np.float32)
    out = (scores - scores.multiply(sp.csr_matrix(seen, dtype=bool))).tocsr()
    out.eliminate_zeros()
    return out


def exclude(scores: np.ndarray, seen: sp.csr_matrix) -> None:
    """Set ``scores[i, j] = -inf`` wherever ``seen[i, j]`` is stored (in place)."""
    seen = seen.tocsr()
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf


def _fitted(attr: str, doc: str) -> property:
    """A public name for the fitted attribute ``attr`` (read and assign), e.g. ``user_factors``."""
    return property(lambda self: getattr(self, attr),
                    lambda self, value: setattr(self, attr, value), doc=doc)


class Recommender(ABC):
    """Base class: hyper-parameters in ``__init__`` (no work there), learning in ``fit``,
    fitted state in attributes ending in ``_``.

    What a family is, declared as class attributes (read by :mod:`tastemap.models.registry`):

    ``sweep_prefixes``
        Hyper-parameters a config grid may sweep (``models.<name>.<key>: [v1, v2]``) -> the
        prefix each contributes to a variant name, in name order (``{"factors": "f"}``:
        ``factors: [32, 64]`` -> variants ``f32``, ``f64``).
    ``search_space``
        Hyper-parameters the validation search (:mod:`tastemap.search`) chooses, each with its
        range (:mod:`tastemap.models.space`); empty for a family with nothing to tune.
    ``folds_in``
        ``recommend_new`` scores users the model was not fit on, from their item rows.
    ``has_factors``
        ``user_factors`` (n_users, f) and ``item_factors`` (n_items, f) exist (embedding maps).
    ``has_loss_curve``
        ``history_`` is a training curve over epochs (the workflow draws ``loss.png``).
    ``predicts_ratings``
        ``predict(user_idx, item_idx)`` estimates ``log(1 + plays)`` (the evaluation's RMSE).
    ``explains``
        ``explain`` says which played items drove a recommendation.
    ``similar_by``
        What ``similar_items`` ranks by (a short phrase), ``None`` without similar items. The
        default implementation is the cosine of ``item_factors``.
    ``scoring``
        How ``recommend`` scores known users: ``"dot"`` (``_dot_vectors``: exact top-k of a dot
        product with norm pruning), ``"sparse"`` (``_score_sparse``: only items with a score
        are candidates), ``"dense"`` (blocks of ``_score``).
    ``multithreaded``
        ``fit`` uses more than one core when ``num_threads`` allows it. The workflow gives a
        family without it one thread per fit and search job, so another job runs on the other
        core.
    """

    name: ClassVar[str] = "base"
    sweep_prefixes: ClassVar[dict[str, str]] = {}
    search_space: ClassVar[dict[str, Dimension]] = {}
    folds_in: ClassVar[bool] = False
    has_factors: ClassVar[bool] = False
    has_loss_curve: ClassVar[bool] = False
    predicts_ratings: ClassVar[bool] = False
    explains: ClassVar[bool] = False
    similar_by: ClassVar[str | None] = None
    scoring: ClassVar[str] = "dense"
    multithreaded: ClassVar[bool] = True

    #: users scored per dense block in ``recommend`` (at most; see ``block_bytes``).
    block_size: int = 4096
    #: memory of one dense float32 score block; large catalogues get fewer users per block.
    block_bytes: int = 256 * 2**20
    #: threads for fitting and scoring (run-time setting, see the module docstring).
    num_threads: int = 1
    #: training curve, see the module docstring (``fit`` assigns its own list).
    history_: tuple | list = ()
    #: the matrix the model was fit on (not saved; see the module docstring)
    _train: sp.csr_matrix | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.scoring not in SCORINGS:
            raise TypeError(f"{cls.__name__}.scoring = {cls.scoring!r}: use one of {SCORINGS}")

    # -- to implement ------------------------------------------------------------------
    @abstractmethod
    def fit(self, train: sp.csr_matrix) -> Recommender:
        """Learn from ``train`` (users x items play counts). Must call ``self._set_train``."""

    @abstractmethod
    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        """Dense scores ``(len(user_idx), n_items)`` for known users (higher = better)."""

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Dense scores ``(n_new, n_items)`` for unseen users given their item rows
        (families with ``folds_in``)."""
        raise NotImplementedError(f"{type(self).__name__} declares folds_in but has no _score_new")

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """``(user_vectors, item_vectors)`` with ``_score(u) == user_vectors[u] @ item_vectors.T``
        (families with ``scoring = "dot"``)."""
        raise NotImplementedError(f"{type(self).__name__} declares scoring 'dot' but has no _dot_vectors")

    def _score_sparse(self, user_idx: np.ndarray) -> sp.csr_matrix:
        """Sparse scores ``(len(user_idx), n_items)``: only stored entries are candidates
        (families with ``scoring = "sparse"``)."""
        raise NotImplementedError(f"{type(self).__name__} declares scoring 'sparse' but has no _score_sparse")

    # -- hyper-parameters and fitted state -----------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments as set on this instance (what ``save`` writes)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names}

    def fitted_state(self) -> dict[str, Any]:
        """Every fitted attribute (name ending in ``_``, not private), by name."""
        return {k: v for k, v in sorted(vars(self).items())
                if k.endswith("_") and not k.startswith("_")}

    user_factors = _fitted("user_factors_", "``(n_users, f)`` user vectors (``has_factors``).")
    item_factors = _fitted("item_factors_", "``(n_items, f)`` item vectors (``has_factors``).")

    # -- the training matrix -----------------------------------------------------------
    @property
    def n_items(self) -> int:
        return int(self.n_items_)

    @property
    def n_users(self) -> int:
        return int(self.n_users_)

    def _set_train(self, train: sp.spmatrix) -> sp.csr_matrix:
        """Keep the users x items matrix of a fit (float32 CSR, see :func:`plays_csr`) and save
        its size and fingerprint. Returns it."""
        X = plays_csr(train)
        self.n_users_, self.n_items_ = (int(n) for n in X.shape)
        self.train_fingerprint_ = store.fingerprint(X)
        self._train = X
        return X

    def attach(self, train: sp.spmatrix) -> Recommender:
        """Give a loaded model the matrix it was fit on (checked against the saved fingerprint)."""
        X = plays_csr(train)
        found = store.fingerprint(X)
        if found != self.train_fingerprint_:
            raise ValueError(f"{self.name}: this matrix ({found}) is not the one the model was fit "
                             f"on ({self.train_fingerprint_}; shape:nnz:checksum)")
        self._train = X
        self._attached()
        return self

    def _attached(self) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Hook: rebuild caches derived from the training matrix (none by default)."""

    @property
    def train(self) -> sp.csr_matrix:
        """The users x items play counts the model was fit on (float32 CSR)."""
        if self._train is None:
            raise NoTrainingMatrix(
                f"{self.name}: loaded without its training matrix; pass it to load(path, "
                "train=matrix) or attach(matrix) (tastemap.load(...).model(...) does)")
        return self._train

    @property
    def seen(self) -> sp.csr_matrix:
        """Binary users x items matrix of the training entries (float32 CSR, a new array)."""
        X = self.train
        return sp.csr_matrix((np.ones(X.nnz, np.float32), X.indices, X.indptr), shape=X.shape)

    # -- shared ------------------------------------------------------------------------
    def _block_rows(self) -> int:
        """Users per dense score block: ``block_size``, fewer if a block would exceed ``block_bytes``."""
        return int(max(1, min(self.block_size, self.block_bytes // (4 * max(1, self.n_items)))))

    @contextmanager
    def _scoring_threads(self):
        """BLAS and torch threads raised to ``num_threads`` while scoring (restored after)."""
        import torch
        from threadpoolctl import threadpool_limits

        threads = max(1, int(self.num_threads))
        torch_threads = torch.get_num_threads()
        torch.set_num_threads(threads)  # torch.topk in top_k / top_k_dot / top_k_sparse
        try:
            with threadpool_limits(limits=threads, user_api="blas"):
                yield
        finally:
            torch.set_num_threads(torch_threads)

    def recommend(
        self, user_idx: np.ndarray | None = None, k: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for each user in ``user_idx`` (default: all users).

        Returns ``(items, scores)``, both ``(n_users, k)``; items the user played in the
        training matrix are excluded when ``exclude_seen``. Pads with ``-1`` / ``-inf`` when
        fewer than ``k`` items are left. Scores as the family declares (``scoring``):
        :func:`top_k_dot` of ``_dot_vectors``, :func:`top_k_sparse` of ``_score_sparse`` (only
        scored items are candidates), or dense blocks of ``_score`` reduced by :func:`top_k`.
        """
        users = np.arange(self.n_users) if user_idx is None else np.asarray(user_idx)
        seen = self.train[users] if exclude_seen else None
        progress = Progress(f"{self.name}: recommend", total=len(users), logger=logger)
        with self._scoring_threads():
            if self.scoring == "dot":
                vectors, items = self._dot_vectors()
                return top_k_dot(vectors[users], items, k, exclude=seen, progress=progress)
            out_ids = np.empty((len(users), k), dtype=np.int32)
            out_scores = np.empty((len(users), k), dtype=np.float32)
            # sparse scores cost memory in proportion to their entries, not to n_items
            step = self.block_size if self.scoring == "sparse" else self._block_rows()
            for start in range(0, len(users), step):
                block = users[start : start + step]
                if self.scoring == "sparse":
                    sparse = self._score_sparse(block)
                    if exclude_seen:
                        sparse = drop_stored(sparse, seen[start : start + step])
                    ids, best = top_k_sparse(sparse, k)
                else:
                    scores = np.asarray(self._score(block), dtype=np.float32)
                    if exclude_seen:
                        exclude(scores, seen[start : start + step])
                    ids, best = top_k(scores, k)
                out_ids[start : start + len(block)] = ids
                out_scores[start : start + len(block)] = best
                progress.update(start + len(block))
        return out_ids, out_scores

    def recommend_new(
        self, user_items: sp.csr_matrix, k: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for new users given as rows of ``user_items`` (n_new x n_items),
        without refitting (fold-in; families with ``folds_in``). Items in ``user_items`` are
        excluded."""
        if not self.folds_in:
            raise TypeError(f"{self.name} cannot recommend for new users (folds_in is False)")
        user_items = sp.csr_matrix(user_items, dtype=np.float32)
        if user_items.shape[1] != self.n_items:
            raise ValueError(
                f"user_items has {user_items.shape[1]} columns, the model knows {self.n_items} items"
            )
        scores = np.asarray(self._score_new(user_items), dtype=np.float32)
        if exclude_seen:
            exclude(scores, user_items)
        return top_k(scores, k)

    def similar_items(self, item_idx: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` most similar items for each item, itself excluded (families with
        ``similar_by``). Here: cosine of ``item_factors``; families may rank otherwise."""
        if self.similar_by is None:
            raise TypeError(f"{self.name} has no similar items (similar_by is None)")
        return self._similar_items(np.asarray(item_idx), k)

    def _similar_items(self, item_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``similar_items`` of the family; here the cosine of ``item_factors``."""
        factors = np.asarray(self.item_factors, dtype=np.float32)
        norms = np.linalg.norm(factors, axis=1)
        norms[norms == 0] = 1.0
        unit = factors / norms[:, None]
        # unit vectors: no norm pruning, so large tiles (fewer merges) are fastest here
        with self._scoring_threads():
            return top_k_dot(unit[item_idx], unit, k, exclude=item_rows(item_idx, len(unit)),
                             block_rows=4096, chunk=32768)

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted model to one ``.npz`` (arrays + a JSON header, no pickle; see
        :mod:`tastemap.models.store`). ``load`` reads it back."""
        cls = type(self)
        header = {"family": self.name, "class": f"{cls.__module__}:{cls.__qualname__}",
                  "params": self.get_params()}
        store.write(path, header, self.fitted_state())

    @classmethod
    def load(cls, path: str | Path, train: sp.spmatrix | None = None) -> Recommender:
        """The model saved at ``path``; ``train`` (the matrix it was fit on, checked) enables
        ``recommend`` of known users.

        The class is looked up by the saved family name among tastemap's families, or among
        outside families the caller has imported (registered); a file never makes tastemap
        import code.
        """
        header, state = store.read(path)
        family = header.get("family")
        if family not in FAMILIES and family not in MODELS:
            raise store.ModelFileError(
                f"{path}: saved by model family {family!r} ({header.get('class')}), which is "
                "neither tastemap's nor imported; import its module first (tastemap.models."
                f"registry.get({family!r}, module=...))")
        model_cls = get(family)
        if f"{model_cls.__module__}:{model_cls.__qualname__}" != header.get("class"):
            raise store.ModelFileError(f"{path}: saved from class {header.get('class')}, family "
                                       f"{family!r} is {model_cls.__module__}:{model_cls.__qualname__}")
        if not issubclass(model_cls, cls):
            raise TypeError(f"{path}: holds a {model_cls.__name__}, not a {cls.__name__}")
        model = model_cls(**header["params"])
        for key, value in state.items():
            setattr(model, key, value)
        if isinstance(model.history_, list):
            model.history_ = [tuple(row) for row in model.history_]
        model._loaded()
        if train is not None:
            model.attach(train)
        return model

    def _loaded(self) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Hook: rebuild derived objects after ``load`` set the fitted state (none by default)."""


class ImplicitFactors:
    """Mixin for factor models kept as two arrays (ALS by ``implicit``, BPR): no library model
    object is kept; the factors are (``user_factors_``, ``item_factors_``), scores are their dot
    product (users x items)."""

    def _fit_implicit(self, model, matrix: sp.csr_matrix, callback) -> None:
        """``model.fit`` of implicit, its ``ModelFitError`` (NaN factors) as :class:`Diverged`."""
        from implicit.recommender_base import ModelFitError

        try:
            model.fit(matrix, show_progress=False, callback=callback)
        except ModelFitError as err:
            raise Diverged(f"{type(self).__name__} diverged at {self.get_params()}: {err}") from err

    def _keep_factors(self, model) -> None:
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[user_idx] @ self.item_factors_.T

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.user_factors_, self.item_factors_
