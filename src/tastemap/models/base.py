"""The one recommender interface every model family implements.

Orientation everywhere: matrices are **users x items** CSR (rows = ``user_idx``, columns =
``artist_idx`` or ``song_idx``), values are play counts (float32). Batch calls take arrays of
user or item indices and return ``(ids, scores)`` arrays of shape ``(n, k)``.

A subclass declares what it is in class attributes (``hyperparameters``, ``description``,
``folds_in``, ``has_factors``, ``has_loss_curve``, ``has_factor_sweep``, ``predicts_ratings``,
``explains``, ``similar_by``, ``scoring``: see :class:`Recommender`;
:mod:`tastemap.models.registry` reads them without fitting anything) and implements ``fit`` and
the scoring its declarations promise: ``_score`` (dense scores of a block of known users),
``_dot_vectors`` (``scoring = "dot"``),
``_score_sparse`` (``scoring = "sparse"``), ``_score_new`` (``folds_in``: users the model has not
seen, from their item rows), ``_similar_items`` (unless the cosine of the item factors is its
item similarity). ``recommend``, ``recommend_new``, ``similar_items``, ``save`` and ``load``
come from here, and check the declarations; they select with :mod:`tastemap.models.topk`.
Factor families fit by ``implicit`` share :class:`~tastemap.models.factors.ImplicitFactors`.

Conventions shared by every family:

* ``num_threads`` is a run-time setting, not a hyper-parameter: the caller sets it on the
  instance before ``fit`` (the workflow passes the rule's ``threads``). Scoring in ``recommend``
  raises the BLAS thread count to it (threadpoolctl) while the workflow keeps BLAS single-threaded
  elsewhere for implicit's sake.
* Fitted state lives in attributes whose names end in ``_`` (numpy arrays, scipy sparse
  matrices, JSON values, dicts of arrays): ``save`` writes exactly those to one ``.npz`` (see
  :mod:`tastemap.core.store`; no pickle), ``load`` rebuilds the model from them.
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
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from tastemap.core import store
from tastemap.core.logs import Progress
from tastemap.models.factors import Diverged, ImplicitFactors  # noqa: F401 (for the families)
from tastemap.models.params import Param, check_declaration, sweep_prefixes
from tastemap.models.registry import FAMILIES, MODELS, get, make, register  # noqa: F401
from tastemap.models.space import Dimension
from tastemap.models.topk import drop_stored, exclude, item_rows, top_k, top_k_dot, top_k_sparse

logger = logging.getLogger(__name__)

#: how ``recommend`` scores known users (``Recommender.scoring``)
SCORINGS = ("dense", "dot", "sparse")


class NoTrainingMatrix(RuntimeError):
    """A loaded model was asked for something that needs the matrix it was fit on."""


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


def _fitted(attr: str, doc: str) -> property:
    """A public name for the fitted attribute ``attr`` (read and assign), e.g. ``user_factors``."""
    return property(lambda self: getattr(self, attr),
                    lambda self, value: setattr(self, attr, value), doc=doc)


class Recommender(ABC):
    """Base class: hyper-parameters in ``__init__`` (no work there), learning in ``fit``,
    fitted state in attributes ending in ``_``.

    What a family is, declared as class attributes (read by :mod:`tastemap.models.registry`):

    ``hyperparameters``
        Every constructor argument the config sets, by name -> :class:`~tastemap.models.params.Param`
        (meaning, valid range or values, the variant-name prefix of a sweepable one); its
        default and type are the constructor's, written there only. The config schema's
        ``models.<name>`` section is generated from it (:mod:`tastemap.models.schema`).
    ``description``
        What the family is, one paragraph (the config reference's ``models.<name>``).
    ``sweep_prefixes``
        Hyper-parameters a config grid may sweep (``models.<name>.<key>: [v1, v2]``) -> the
        prefix each contributes to a variant name, in name order (``{"factors": "f"}``:
        ``factors: [32, 64]`` -> variants ``f32``, ``f64``). Derived from ``hyperparameters``
        (the keys with a ``sweep`` prefix, in declaration order) when the class declares them;
        a family outside tastemap may set it alone instead.
    ``search_space``
        Hyper-parameters the validation search (:mod:`tastemap.pipeline.search`) chooses, each with its
        range (:mod:`tastemap.models.space`); empty for a family with nothing to tune.
    ``folds_in``
        ``recommend_new`` scores users the model was not fit on, from their item rows.
    ``has_factors``
        ``user_factors`` (n_users, f) and ``item_factors`` (n_items, f) exist (embedding maps).
    ``has_loss_curve``
        ``history_`` is a training curve over epochs (the workflow draws ``loss.png``).
    ``has_factor_sweep``
        A config list of ``factors`` is a latent-size sweep: the workflow draws the last-epoch
        train (and validation) ``rmse`` of ``history_`` of each size's train fit against
        ``factors`` (``sweep_factors.png``), unless the family is searched.
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
    hyperparameters: ClassVar[dict[str, Param]] = {}
    description: ClassVar[str] = ""
    sweep_prefixes: ClassVar[dict[str, str]] = {}
    search_space: ClassVar[dict[str, Dimension]] = {}
    folds_in: ClassVar[bool] = False
    has_factors: ClassVar[bool] = False
    has_loss_curve: ClassVar[bool] = False
    has_factor_sweep: ClassVar[bool] = False
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
        if "hyperparameters" in cls.__dict__:
            if "sweep_prefixes" in cls.__dict__:
                raise TypeError(f"{cls.__name__}: declare sweepable keys once, as "
                                "Param(sweep=prefix) in hyperparameters, not in sweep_prefixes")
            check_declaration(cls)
            cls.sweep_prefixes = sweep_prefixes(cls)

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
        :mod:`tastemap.core.store`). ``load`` reads it back."""
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
