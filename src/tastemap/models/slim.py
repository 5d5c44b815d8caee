"""SLIM (Ning & Karypis 2011, "SLIM: Sparse Linear Methods for Top-N Recommender Systems") with
scikit-learn's ElasticNet, as in the reference implementation of Ferrari Dacrema et al.
(repository MaurizioFD/RecSys2019_DeepLearning_Evaluation, file
``SLIM_ElasticNet/SLIMElasticNetRecommender.py``, commit f5618c6).

For every item ``j`` one regression of its column on all the others: with ``X = w(plays)``
(users x items, float32; ``weighting: raw`` is the reference's input, ``log`` the default) and
``X_(j)`` = ``X`` with column ``j`` set to zero,

    w_j = argmin_{w >= 0}  1 / (2 n_users) |X[:, j] - X_(j) w|^2
                           + alpha l1_ratio |w|_1 + alpha (1 - l1_ratio) / 2 |w|^2

(scikit-learn's ``ElasticNet(alpha, l1_ratio, positive=True, fit_intercept=False, copy_X=False,
precompute=True, selection="random", max_iter, tol)``, the reference's call; on a sparse ``X``
scikit-learn ignores ``precompute`` and runs its sparse coordinate descent, in the reference as
here). Column ``j`` of ``W_`` holds the ``neighbours`` (the reference's ``topK``) largest non-zero
coefficients of ``w_j``; ``W[j, j] = 0``. Scores: ``w(r_u) W`` (see
:class:`tastemap.models.knn.ItemWeights`).

Where this differs from the reference code, and why:

* ``weighting`` defaults to ``log`` (``log(1 + plays)``), as item-kNN: with raw play counts
  (targets up to several hundred) long regressions dominate (at the reference's ``alpha = 1``,
  167 of 3,000 stopped at ``max_iter`` and the fit took 4x as long), and on the validation split
  of the simulated default (artists, ``alpha = 1``) nDCG@10 was 0.209 (raw) against 0.258 (log).
* ``alpha`` defaults to 0.1 (the reference's code default is 1; Ferrari Dacrema et al. tune
  it): with ``alpha = 1`` the penalty zeroes nearly every coefficient of the simulated default
  (5% of the artists have any weight in ``W``; validation nDCG@10 0.258 artists, 0.238 songs),
  with 0.1 66% do (0.268, 0.276), at about three times the fit time.
* Each regression's random coordinate order (``selection="random"``) is seeded from
  ``random_state`` and the item (the reference leaves ElasticNet's ``random_state`` unset, so
  its fits differ from run to run): the same seed gives the same ``W_``, whatever the thread count.
* A regression with at most ``neighbours`` non-zero coefficients keeps them all (the
  reference keeps ``min(nnz - 1, topK)`` of them, which drops the smallest coefficient of such an
  item: an off-by-one, not part of the method). Ties at the cut go to the smaller item index.
* The regressions run in parallel, on ``num_threads`` threads (joblib's threading backend;
  each task on its own copy of the values of ``X``), instead of one after the other. Threads,
  not processes: the coordinate descent releases the GIL (scikit-learn's Python around it does
  not), and worker processes cost ~3.5 s of start-up per fit on the default data, about the fit
  itself. The first regression of each task checks scikit-learn's parameters and inputs, the
  others skip those checks (the same coefficients; 40% less time on the default data).
* The ``ConvergenceWarning`` of regressions that stop at ``max_iter`` is silenced; the fit logs
  how many did (the reference shows the warning once).
* Items with no stored score are not candidates in ``recommend`` (``scoring = "sparse"``).
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.sparse as sp

from tastemap.models.base import register
from tastemap.models.knn import ItemWeights, weigh
from tastemap.models.params import Param
from tastemap.models.space import Float, Int

logger = logging.getLogger(__name__)

#: regressions per parallel task (a task copies the values of X once)
CHUNK = 64


def item_seed(random_state: int, item: int) -> int:
    """The seed of item ``item``'s regression: independent of the order and threads of the fit.

    >>> item_seed(0, 5) == item_seed(0, 5) != item_seed(1, 5)
    True
    """
    return int(np.random.SeedSequence((int(random_state), int(item))).generate_state(1)[0])


def keep_largest(idx: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest ``values`` (non-zero only) and their ``idx``; ties: the smaller index.

    >>> keep_largest(np.array([4, 1, 7, 2]), np.array([0.5, 0.0, 0.5, 0.9]), 2)
    (array([2, 4]), array([0.9, 0.5]))
    """
    nz = values != 0
    idx, values = idx[nz], values[nz]
    order = np.lexsort((idx, -values))[:k]
    return idx[order], values[order]


def regress_items(X: sp.csc_matrix, items: np.ndarray, params: dict, k: int, random_state: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The regressions of ``items`` (see the module docstring) on their own copy of the values
    of ``X`` (users x items, CSC float32, sorted indices). Returns the kept coefficients as COO
    parts ``(rows, cols, values)`` of ``W`` and how many regressions stopped at ``max_iter``."""
    import sklearn
    from sklearn.linear_model import ElasticNet

    own = sp.csc_matrix((X.data.copy(), X.indices, X.indptr), shape=X.shape)
    model = ElasticNet(positive=True, fit_intercept=False, copy_X=False, precompute=True,
                       selection="random", **params)
    rows, cols, vals, capped = [], [], [], 0
    y = np.zeros(X.shape[0], dtype=X.dtype)
    for n, j in enumerate(items):
        lo, hi = X.indptr[j], X.indptr[j + 1]
        y[:] = 0.0
        y[X.indices[lo:hi]] = X.data[lo:hi]
        own.data[lo:hi] = 0.0  # X_(j): column j zeroed (stored zeros, as the reference)
        model.random_state = item_seed(random_state, j)
        # scikit-learn checks the parameters and inputs of the first fit only (see above)
        with sklearn.config_context(skip_parameter_validation=n > 0):
            model.fit(own, y, check_input=n == 0)
        own.data[lo:hi] = X.data[lo:hi]
        capped += int(model.n_iter_ >= params["max_iter"])
        nz = np.flatnonzero(model.coef_)
        idx, values = keep_largest(nz, model.coef_[nz], k)
        rows.append(idx)
        cols.append(np.full(len(idx), j))
        vals.append(values)
    rows, cols, vals = ([np.zeros(0)] if not parts else parts for parts in (rows, cols, vals))
    return (np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64),
            np.concatenate(vals).astype(np.float32), capped)


@register("slim")
class SLIM(ItemWeights):
    """SLIM ElasticNet: one non-negative elastic-net regression per item on all other items (see
    the module docstring for the exact definition and the reference).

    Parameters
    ----------
    l1_ratio : float
        Share of the L1 penalty in ``alpha`` (scikit-learn's ``l1_ratio``, 0-1).
    alpha : float
        Strength of the penalty (scikit-learn's ``alpha``; the squared error is divided by
        ``2 n_users``). Default 0.1, not the reference's 1 (see the module docstring).
    neighbours : int
        Coefficients kept per item (the reference's ``topK``).
    max_iter, tol
        scikit-learn's coordinate descent limits (the reference: 100, 1e-4).
    weighting : {"log", "binary", "raw"}
        Plays as regression inputs and targets and in the scores (``raw`` = the reference).
    random_state : int
        Seeds each regression's random coordinate order.

    Attributes (after ``fit``): ``W_`` (n_items x n_items CSR float32, zero diagonal; column
    ``j`` = the kept coefficients of item ``j``'s regression), ``capped_`` (regressions that
    stopped at ``max_iter``).
    """

    description = (
        "SLIM ElasticNet (Ning & Karypis 2011): per item a non-negative elastic-net regression of "
        "its column on the other items (scikit-learn's ElasticNet, as Ferrari Dacrema et al.'s "
        "reference code), the largest coefficients kept; scores w(r_u) W. One regression per item,"
        " run on the rule's threads (docs/models.md).")
    hyperparameters = {
        "l1_ratio": Param(
            "Share of the L1 penalty in alpha (scikit-learn's l1_ratio).",
            sweep="l1", minimum=0, maximum=1),
        "alpha": Param(
            "Strength of the penalty (scikit-learn's alpha; the squared error is divided by 2 x "
            "users; the reference's code default is 1).",
            sweep="a", exclusive_minimum=0),
        "neighbours": Param(
            "Largest coefficients kept per item (the reference's topK).",
            sweep="k", minimum=1, grid=True),
        "weighting": Param(
            "Plays as regression inputs and targets and in the scores (log = log(1 + r); raw = the"
            " reference).",
            sweep="w", choices=("log", "binary", "raw")),
        "max_iter": Param(
            "Coordinate-descent passes per regression at most (scikit-learn's max_iter; the "
            "reference's 100).",
            minimum=1),
        "tol": Param(
            "Stopping tolerance of each regression (scikit-learn's tol).",
            exclusive_minimum=0),
    }
    search_space = {"l1_ratio": Float(1e-5, 1.0), "alpha": Float(1e-3, 1.0),
                    "neighbours": Int(5, 1000, log=True)}
    similar_by = "SLIM weights W[i, j] (item i in the regression of item j), top neighbours"

    def __init__(self, l1_ratio: float = 0.1, alpha: float = 0.1, neighbours: int = 100,
                 max_iter: int = 100, tol: float = 1e-4, weighting: str = "log",
                 random_state: int = 0):
        self.l1_ratio = l1_ratio
        self.alpha = alpha
        self.neighbours = neighbours
        self.max_iter = max_iter
        self.tol = tol
        self.weighting = weighting
        self.random_state = random_state

    def fit(self, train: sp.csr_matrix) -> SLIM:
        if not 0 <= float(self.l1_ratio) <= 1:
            raise ValueError(f"l1_ratio={self.l1_ratio}: use a value from 0 to 1")
        from joblib import Parallel, delayed
        from sklearn.exceptions import ConvergenceWarning
        from threadpoolctl import threadpool_limits

        X = sp.csc_matrix(weigh(self._set_train(train), self.weighting), dtype=np.float32)
        X.sort_indices()
        n_items = X.shape[1]
        params = {"alpha": float(self.alpha), "l1_ratio": float(self.l1_ratio),
                  "max_iter": int(self.max_iter), "tol": float(self.tol)}
        threads = max(1, int(self.num_threads))
        logger.info("SLIM (alpha=%g, l1_ratio=%g) on %d x %d, %d plays, %d threads",
                    self.alpha, self.l1_ratio, *X.shape, X.nnz, threads)
        chunks = [c for c in np.array_split(np.arange(n_items), max(1, -(-n_items // CHUNK)))
                  if len(c)]
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            parts = Parallel(n_jobs=threads, backend="threading")(
                delayed(regress_items)(X, c, params, int(self.neighbours), self.random_state)
                for c in chunks)
        rows, cols, vals = (np.concatenate([p[i] for p in parts]) for i in range(3))
        self.capped_ = int(sum(p[3] for p in parts))
        if self.capped_:
            logger.info("SLIM: %d of %d regressions stopped at max_iter=%d", self.capped_,
                        n_items, self.max_iter)
        W = sp.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items), dtype=np.float32)
        W.sort_indices()
        self.W_ = W
        self.history_ = []
        return self
