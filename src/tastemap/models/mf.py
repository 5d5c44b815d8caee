"""Biased matrix factorisation by mini-batch stochastic gradient descent (PyTorch).

The model of Koren, Bell & Volinsky (2009), "Matrix factorization techniques for recommender
systems", fit to log play counts::

    r_hat(u, i) = mu + b_u + b_i + p_u . q_i          target r(u, i) = log(1 + plays(u, i))

    loss = mean over sampled entries of  (r - r_hat)^2 + reg * (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)

``mu`` is fixed to the mean training target (sampled negatives counting as zeros). Factors and
biases live in two tables ``[p_u | b_u]`` and ``[q_i | b_i]`` (``nn.Embedding(sparse=True)``); the
shared ``fit_loop`` (``_train``) cuts a seeded permutation of the entries into mini-batches, torch
autograd gives the gradient of every lookup, and ``RowMeanSGD`` moves every touched row by the
learning rate times the mean gradient of its lookups in the batch (the Koren SGD update, batched).
A seeded ``valid_fraction`` of the stored training entries can be held out inside ``fit`` to
record a validation RMSE curve in ``history_`` (default 0: those entries are not learnt from).

Ranking (``recommend``): a model fit only on observed entries learns "how much", not "whether",
and ranks poorly. With ``negatives = k > 0`` every observed entry in a batch is accompanied by
``k`` uniformly sampled unplayed items of the same user with target 0 (entries that turn out to
be played are masked out of the loss), so the factors also separate played from unplayed items.
One negative per play (the default before this version) left the target dominated by play
amounts: MF ranked below popularity on planted data where amounts carry no taste
(``tests/test_torch_models.py``) and at 1.3x popularity on MovieLens 100K; the default is 4
(docs/quality.md). ``negatives = 0`` gives the plain rating model of the paper (best RMSE, poor
ranking). The RMSE curves always measure observed entries only.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.models._torch import (
    History,
    check_matrix,
    coo_of,
    effective_threads,
    torch_session,
)
from tastemap.models.base import Recommender, register
from tastemap.models.params import Param
from tastemap.models.space import Float, Int

logger = logging.getLogger(__name__)


@register("mf")
class BiasedMF(Recommender):
    """Biased matrix factorisation of ``log(1 + plays)`` by mini-batch SGD.

    Parameters
    ----------
    factors : int
        Latent dimension ``f`` of ``p_u`` and ``q_i``.
    epochs : int
        Passes over the training entries.
    batch_size : int
        Observed entries per mini-batch (each brings ``negatives`` sampled entries along).
        512 scored within 1% of 256 on the validation splits (MovieLens 100K, 3 seeds: 0.2359
        against 0.2382; simulated songs higher) at about 0.7x the CPU (docs/quality.md).
    learning_rate : float
        SGD step size (each touched row moves by ``lr`` x its mean gradient in the batch).
    regularization : float
        ``reg``: L2 weight on the factors and biases touched by each sampled entry.
    negatives : int
        Sampled unplayed items (target 0) per observed entry; 0 = fit observed entries only.
    valid_fraction : float
        Fraction of the stored entries held out (seeded) for the validation RMSE; 0 = none.
    init_std : float
        Standard deviation of the normal initialisation of the factors (biases start at 0).
    random_state : int
        Seed of every random step (hold-out, initialisation, batches, negatives).
    num_threads : int
        ``torch.set_num_threads`` during ``fit``; identical results need the same value.

    Attributes (after ``fit``)
    --------------------------
    user_factors : ndarray (n_users, f) float32 ; item_factors : ndarray (n_items, f) float32
    user_bias_ : ndarray (n_users,) ; item_bias_ : ndarray (n_items,) ; global_mean_ : float
    history_ : list of ``(epoch, split, metric, value)`` (train loss, train rmse, valid rmse)
    """

    description = (
        "Biased matrix factorisation (Koren et al. 2009) of log(1 + plays) by mini-batch SGD in "
        "PyTorch: global mean + user and item biases + factors, regularised squared error. "
        "Predicts log(1 + plays) (the evaluation adds its RMSE); ranks with sampled negatives.")
    hyperparameters = {
        "factors": Param(
            "Latent size. The train fits' last-epoch RMSE (train, and valid with valid_fraction > "
            "0) of a list of sizes is plotted against it (sweep_factors.png).",
            sweep="f", minimum=1, grid=True),
        "regularization": Param(
            "L2 weight on the factors and biases of every sampled entry.",
            sweep="r", minimum=0),
        "negatives": Param(
            "Unplayed items (target 0) sampled uniformly per observed entry, so that the factors "
            "learn whether an item is played, not only how much; 0 = fit played entries only (the "
            "paper's rating model: best RMSE, poor ranking); 1 ranked below popularity on data "
            "where play amounts carry no taste (docs/models_torch.md).",
            sweep="n", minimum=0),
        "epochs": Param("Passes over the training entries.", sweep="e", minimum=1),
        "learning_rate": Param(
            "SGD step; each touched row moves by it times its mean gradient in the batch.",
            sweep="lr", exclusive_minimum=0),
        "batch_size": Param(
            "Observed entries per mini-batch: larger = faster epochs on big data but fewer SGD "
            "steps per epoch (use ~65536 for millions of entries). 512 scored within 1% of 256 on "
            "the validation splits at about 0.7x the CPU (docs/quality.md).",
            minimum=1),
        "valid_fraction": Param(
            "Seeded fraction of the fit's entries held out inside the fit for a validation RMSE "
            "curve (history.parquet, sweep_factors.png); those entries are not learnt from, in "
            "full fits too. 0 = none (the default: holding out 10% cost 6% nDCG@10 on MovieLens "
            "100K; the evaluation reports the test RMSE either way).",
            minimum=0, exclusive_maximum=1),
        "init_std": Param("Standard deviation of the normal initial factors.", exclusive_minimum=0),
    }
    search_space = {"factors": Int(16, 128, log=True), "regularization": Float(1e-4, 0.1),
                    "negatives": Int(1, 8), "learning_rate": Float(0.01, 0.2)}
    folds_in = True
    has_factors = True
    has_loss_curve = True
    has_factor_sweep = True  # sweep_factors.png: last-epoch RMSE against factors
    predicts_ratings = True
    similar_by = "cosine of item factors"
    scoring = "dot"

    def __init__(
        self, factors: int = 64, epochs: int = 20, batch_size: int = 512,
        learning_rate: float = 0.05, regularization: float = 0.01, negatives: int = 4,
        valid_fraction: float = 0.0, init_std: float = 0.05, random_state: int = 0,
        num_threads: int = 1,
    ):
        self.factors = factors
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.negatives = negatives
        self.valid_fraction = valid_fraction
        self.init_std = init_std
        self.random_state = random_state
        self.num_threads = num_threads

    def _check_params(self) -> None:
        for key in ("factors", "epochs", "batch_size"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"mf.{key} must be >= 1, got {getattr(self, key)!r}")
        if self.negatives < 0:
            raise ValueError(f"mf.negatives must be >= 0, got {self.negatives!r}")
        if not 0 <= self.valid_fraction < 1:
            raise ValueError(f"mf.valid_fraction must be in [0, 1), got {self.valid_fraction!r}")

    # -- fit -----------------------------------------------------------------------------
    def fit(self, train: sp.csr_matrix) -> BiasedMF:
        """Learn from ``train`` (users x items play counts, CSR); returns ``self``."""
        from tastemap.models._train import train_mf

        self._check_params()
        csr = check_matrix(train)
        self._set_train(csr)
        rows, cols, plays = coo_of(csr)
        if len(rows) < 2:
            raise ValueError(f"train has {len(rows)} stored entries; mf needs at least 2")
        target = np.log1p(plays).astype(np.float32)
        rng = np.random.default_rng(self.random_state)
        n_valid = int(round(self.valid_fraction * len(rows)))
        order = rng.permutation(len(rows))
        valid_idx, train_idx = np.sort(order[:n_valid]), np.sort(order[n_valid:])
        part = lambda idx: (rows[idx], cols[idx], target[idx])  # noqa: E731
        # mu: mean target of the sampled training distribution (negatives count as zeros)
        mu = float(target[train_idx].sum()) / (len(train_idx) * (1 + int(self.negatives)))
        history = History()
        with torch_session(self.random_state, effective_threads(self.num_threads, csr.nnz)) as gen:
            P, Q = train_mf(
                part(train_idx), part(valid_idx), rows * csr.shape[1] + cols, csr.shape, mu,
                factors=int(self.factors), epochs=int(self.epochs), batch_size=int(self.batch_size),
                learning_rate=float(self.learning_rate), regularization=float(self.regularization),
                negatives=int(self.negatives), init_std=float(self.init_std), gen=gen,
                history=history)
        f = int(self.factors)
        self.user_factors_, self.user_bias_ = P[:, :f].copy(), P[:, f].copy()
        self.item_factors_, self.item_bias_ = Q[:, :f].copy(), Q[:, f].copy()
        self.global_mean_ = float(mu)  # a JSON scalar: the same float32 arithmetic after load
        self.history_ = history.rows
        return self

    # -- predictions ---------------------------------------------------------------------
    def predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """Predicted ``log(1 + plays)`` of the pairs ``(user_idx[k], item_idx[k])``, shape ``(n,)``.

        Compare with ``np.log1p(plays)`` of held-out entries for the RMSE.
        """
        u = np.asarray(user_idx, dtype=np.int64)
        i = np.asarray(item_idx, dtype=np.int64)
        if u.shape != i.shape:
            raise ValueError(f"user_idx {u.shape} and item_idx {i.shape} differ in shape")
        dots = np.einsum("nf,nf->n", self.user_factors[u], self.item_factors[i])
        return (self.global_mean_ + self.user_bias_[u] + self.item_bias_[i] + dots).astype(np.float32)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        u = np.asarray(user_idx)
        scores = self.user_factors[u] @ self.item_factors.T
        scores += self.item_bias_[None, :]
        scores += (self.global_mean_ + self.user_bias_[u])[:, None]
        return scores

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        # [p_u, 1, mu + b_u] . [q_i, b_i, 1] = the prediction: recommend's top_k_dot fast path
        users = np.hstack([self.user_factors_, np.ones((self.n_users, 1), np.float32),
                           (self.global_mean_ + self.user_bias_)[:, None]]).astype(np.float32)
        items = np.hstack([self.item_factors_, self.item_bias_[:, None],
                           np.ones((self.n_items, 1), np.float32)]).astype(np.float32)
        return users, items

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Fold-in: with the item side fixed, solve the training objective for ``(p_u, b_u)``
        exactly (a weighted ridge regression). Played items have target ``log(1 + plays)``;
        with ``negatives = k`` every unplayed item gets target 0 and weight
        ``k * n_played / n_unplayed`` (its expected number of draws per epoch); the ridge
        weight is ``reg * n_played * (1 + k)`` (the penalty of every sampled entry of the user).
        """
        Q = self.item_factors.astype(np.float64)
        n_items, f = Q.shape
        X = np.hstack([Q, np.ones((n_items, 1))])  # (n_items, f + 1): factors and b_u's 1
        t0 = -(self.global_mean_ + self.item_bias_.astype(np.float64))  # target 0 minus offsets
        G_all = X.T @ X
        h_all = X.T @ t0
        rows = sp.csr_matrix(user_items, dtype=np.float32)
        rows.eliminate_zeros()
        out = np.empty((rows.shape[0], n_items), dtype=np.float32)
        neg = int(self.negatives)
        for r in range(rows.shape[0]):
            items = rows.indices[rows.indptr[r] : rows.indptr[r + 1]]
            plays = rows.data[rows.indptr[r] : rows.indptr[r + 1]]
            theta = np.zeros(f + 1)
            n = len(items)
            if n:
                Xs = X[items]
                ts = np.log1p(plays) + t0[items]
                w = neg * n / (n_items - n) if (neg and n < n_items) else 0.0
                A = (1 - w) * (Xs.T @ Xs) + w * G_all
                b = Xs.T @ ts + w * (h_all - Xs.T @ t0[items])
                A += self.regularization * n * (1 + neg) * np.eye(f + 1)
                theta = np.linalg.solve(A, b)
            out[r] = self.global_mean_ + theta[f] + self.item_bias_ + Q @ theta[:f]
        return out


# -- the latent-size sweep ---------------------------------------------------------------------
def last_epoch_metric(histories: Mapping[int, pd.DataFrame], metric: str = "rmse") -> pd.DataFrame:
    """``metric`` at the last epoch of each fit's history, keyed by latent size.

    ``histories`` maps ``factors`` -> a ``history.parquet`` table (``epoch, split, metric,
    value``). Returns ``factors:int64, split:str, epoch:int32, value:float64``, one row per
    (factors, split) that has the metric, sorted by factors then split.

    >>> h = pd.DataFrame({"epoch": [1, 2, 2], "split": ["valid", "valid", "train"],
    ...                   "metric": ["rmse"] * 3, "value": [0.9, 0.7, 0.5]})
    >>> last_epoch_metric({8: h}).to_dict("records")[1]
    {'factors': 8, 'split': 'valid', 'epoch': 2, 'value': 0.7}
    """
    rows = []
    for factors, h in histories.items():
        part = h[h["metric"] == metric]
        for split, g in part.groupby("split", sort=True):
            last = g.loc[g["epoch"].idxmax()]
            rows.append((int(factors), str(split), int(last["epoch"]), float(last["value"])))
    table = pd.DataFrame(rows, columns=["factors", "split", "epoch", "value"])
    table = table.astype({"factors": "int64", "split": "str", "epoch": "int32", "value": "float64"})
    return table.sort_values(["factors", "split"], ignore_index=True)
