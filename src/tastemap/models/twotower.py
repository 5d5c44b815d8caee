"""Two-tower retrieval model (PyTorch): a user tower fed by the user's items, an item tower.

- Item tower: ``g(i) = MLP_item(E[i])``.
- User tower: ``f(u) = MLP_user(mean_{j in items(u)} E[j])`` - the user is described by the
  items they played (one shared item embedding table ``E``), so a new user needs no training:
  the fold-in is one forward pass of the user tower over their items.
- Score: cosine ``f(u)/|f(u)| . g(i)/|g(i)|``.
- Loss: sampled softmax with in-batch negatives and temperature ``tau``. A batch holds
  observed pairs ``(u_b, i_b)``; the logits are ``cos(f(u_b), g(i_c)) / tau`` for every item
  ``i_c`` of the batch, the target is ``c = b``. Items of the batch that ``u_b`` played (the
  positive of another pair) are masked out of ``u_b``'s negatives. To keep the user tower from
  copying its input, the positive ``i_b`` is left out of ``u_b``'s item mean during training
  (users with a single item therefore give no training pair).

Embeddings use sparse gradients (``SparseAdam``), the MLPs ``Adam``. Fitted weights are kept as
numpy arrays (``state_``), which ``save`` writes; the towers are rebuilt on demand.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from tastemap.models._torch import (
    History, effective_threads, check_matrix, coo_of, load_numpy_state, mean_of_rows, no_grad,
    to_numpy_state, torch_session, unit_rows,
)
from tastemap.models.base import Recommender, register

if TYPE_CHECKING:  # pragma: no cover
    import torch

logger = logging.getLogger(__name__)


def _row_items(csr: sp.csr_matrix, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated item ids of ``users``' rows and the bag offsets (EmbeddingBag layout)."""
    starts, lengths = csr.indptr[users], np.diff(csr.indptr)[users]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = np.arange(lengths.sum()) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)
    return csr.indices[flat].astype(np.int64), offsets.astype(np.int64)


@register("twotower")
class TwoTower(Recommender):
    """Two-tower model: user tower over the user's items, item tower, cosine, in-batch softmax.

    Parameters
    ----------
    factors : int
        Output (and embedding) dimension ``d`` of both towers.
    hidden : int
        Hidden width of each tower's two-layer ReLU MLP.
    epochs : int
        Passes over the observed pairs of users with >= 2 items.
    batch_size : int
        Pairs per batch = 1 positive + up to ``batch_size - 1`` in-batch negatives per pair.
    learning_rate : float
        Adam / SparseAdam step size.
    temperature : float
        ``tau`` dividing the cosine logits.
    random_state, num_threads : int
        Seed of every random step; torch threads during ``fit``.

    Attributes (after ``fit``): ``item_factors (n_items, d)`` and ``user_factors (n_users, d)``,
    unit vectors from the towers (user tower over all of the user's training items);
    ``state_`` (the towers' weights as numpy arrays, by parameter name); ``history_`` (train
    loss per epoch).
    """

    sweep_prefixes = {"factors": "f", "hidden": "h", "temperature": "t", "epochs": "e",
                      "learning_rate": "lr"}
    folds_in = True
    has_factors = True
    has_loss_curve = True
    similar_by = "cosine of item factors"
    _net = None

    def __init__(self, factors: int = 32, hidden: int = 64, epochs: int = 10, batch_size: int = 512,
                 learning_rate: float = 0.005, temperature: float = 0.1, random_state: int = 0,
                 num_threads: int = 1):
        self.factors = factors
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.temperature = temperature
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, train: sp.csr_matrix) -> "TwoTower":
        """Learn from ``train`` (users x items play counts, CSR); returns ``self``."""
        import torch
        import torch.nn.functional as F
        from torch import nn

        from tastemap.models._nets import Towers as _Towers

        for key in ("factors", "hidden", "epochs", "batch_size"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"twotower.{key} must be >= 1, got {getattr(self, key)!r}")
        if not self.temperature > 0:
            raise ValueError(f"twotower.temperature must be > 0, got {self.temperature!r}")
        csr = check_matrix(train)
        self._set_train(csr)
        B = self.seen
        n_items = B.shape[1]
        rows, cols, _ = coo_of(B)
        deg = np.diff(B.indptr)
        pairs = np.flatnonzero(deg[rows] >= 2)
        if len(pairs) < 2:
            raise ValueError("twotower: fewer than 2 pairs from users with >= 2 items in train")
        keys = torch.from_numpy(rows * n_items + cols)  # sorted: membership tests for the mask
        history = History()
        threads = effective_threads(self.num_threads, csr.nnz)
        with torch_session(self.random_state, threads) as gen:
            net = _Towers(n_items, int(self.factors), int(self.hidden))
            with torch.no_grad():
                net.embed.weight.normal_(0.0, 0.1, generator=gen)
                for layer in (*net.user_mlp, *net.item_mlp):
                    if isinstance(layer, nn.Linear):
                        nn.init.kaiming_uniform_(layer.weight, a=5**0.5, generator=gen)
                        nn.init.uniform_(layer.bias, -0.1, 0.1, generator=gen)
            dense = [p for n, p in net.named_parameters() if not n.startswith("embed")]
            opt_dense = torch.optim.Adam(dense, lr=self.learning_rate)
            opt_sparse = torch.optim.SparseAdam([net.embed.weight], lr=self.learning_rate)
            pairs_t = torch.from_numpy(pairs)
            bs = int(self.batch_size)
            for epoch in range(1, int(self.epochs) + 1):
                t0 = time.perf_counter()
                perm = pairs_t[torch.randperm(len(pairs), generator=gen)].numpy()
                total = 0.0
                for start in range(0, len(perm), bs):
                    sel = perm[start : start + bs]
                    if len(sel) < 2:
                        continue
                    u, i = rows[sel], cols[sel]
                    bag, offsets = _row_items(B, u)
                    bag_t = torch.from_numpy(bag)
                    sums = F.embedding_bag(bag_t, net.embed.weight, torch.from_numpy(offsets),
                                           mode="sum", sparse=True)
                    i_t = torch.from_numpy(i)
                    # leave the positive out of the user's mean
                    pooled = (sums - net.embed(i_t)) / torch.from_numpy(deg[u] - 1.0).float()[:, None]
                    logits = net.users(pooled) @ net.items(i_t).T / self.temperature
                    played = torch.from_numpy(u)[:, None] * n_items + i_t[None, :]
                    pos = torch.searchsorted(keys, played).clamp_(max=len(keys) - 1)
                    mask = (keys[pos] == played) & ~torch.eye(len(sel), dtype=torch.bool)
                    logits = logits.masked_fill(mask, float("-inf"))
                    loss = F.cross_entropy(logits, torch.arange(len(sel)))
                    opt_dense.zero_grad(set_to_none=True)
                    opt_sparse.zero_grad(set_to_none=True)
                    loss.backward()
                    opt_dense.step()
                    opt_sparse.step()
                    total += float(loss.detach()) * len(sel)
                history.add(epoch, "train", "loss", total / len(perm))
                logger.info("twotower epoch %d/%d: loss %.4f over %d pairs (%.1f s)", epoch,
                            self.epochs, total / len(perm), len(perm), time.perf_counter() - t0)
            self.state_ = to_numpy_state(net)
            self._net = net.eval()
            with torch.no_grad():
                self.item_factors = net.items(torch.arange(n_items)).numpy().copy()
            self.user_factors = self._user_vectors(B)
        self.history_ = history.rows
        return self

    # -- towers after fit ----------------------------------------------------------------
    def _towers(self):
        if self._net is None:
            from tastemap.models._nets import Towers

            n_items = self.state_["embed.weight"].shape[0]
            self._net = load_numpy_state(Towers(n_items, int(self.factors), int(self.hidden)),
                                         self.state_)
        return self._net

    @no_grad
    def _user_vectors(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Unit user-tower outputs for rows of ``user_items`` (users x items), ``(n, d)``.
        A row without items gets a zero vector (scores 0 for every item)."""
        import torch

        net = self._towers()
        pooled = mean_of_rows(user_items, self.state_["embed.weight"])
        out = net.users(torch.from_numpy(pooled)).numpy()
        empty = np.diff(sp.csr_matrix(user_items).indptr) == 0
        out[empty] = 0.0
        return unit_rows(out)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors[np.asarray(user_idx)] @ self.item_factors.T

    def _score_new(self, user_items: sp.csr_matrix) -> np.ndarray:
        return self._user_vectors(user_items) @ self.item_factors.T
