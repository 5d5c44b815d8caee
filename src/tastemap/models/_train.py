"""The torch side of the PyTorch recommenders: one shared training loop and each family's network
and mini-batch loss. Private, and the only model module that imports torch at module level: the
public modules (``mf``, ``item2vec``, ``twotower``) import it inside ``fit``, so reading the
model classes (the workflow does, in every job) costs no torch import.

Every ``train_*`` function runs inside the caller's ``torch_session`` (seeded generator ``gen``,
deterministic kernels), learns from numpy/scipy inputs and returns numpy arrays; the loss per
epoch (and any validation metric) goes into the caller's ``History``.

``fit_loop`` is the one epoch loop of all four: a seeded permutation of the epoch's examples,
mini-batches of ``batch_size``, ``zero_grad`` / ``backward`` / ``step`` of every optimiser, the
mean loss per epoch into ``history``, an optional per-epoch hook (validation metrics) and one
log line per epoch.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from tastemap.core.logs import Progress
from tastemap.models._torch import History

logger = logging.getLogger(__name__)

#: ``batch_loss(batch) -> (objective to differentiate, summed loss, weight)`` or None (skip)
BatchLoss = Callable[[torch.Tensor], "tuple[torch.Tensor, float, float] | None"]


def fit_loop(
    batch_loss: BatchLoss, optimizers: Sequence[torch.optim.Optimizer], *, epochs: int,
    batch_size: int, gen: torch.Generator, history: History, name: str,
    examples: int | Callable[[int], int],
    after_epoch: Callable[[int], dict[tuple[str, str], float]] | None = None,
) -> None:
    """Train for ``epochs`` passes over ``examples`` (a count, or ``examples(epoch)`` returning
    the count of examples drawn for that epoch).

    Each epoch: ``torch.randperm(n, generator=gen)`` cut into mini-batches of ``batch_size``
    positions; ``batch_loss(positions)`` returns the objective (a scalar tensor), the summed
    loss and its weight (entries), or ``None`` to skip the batch. The epoch's ``weight``-mean
    loss is recorded as ``(epoch, "train", "loss")``; ``after_epoch(epoch)`` may return more
    ``{(split, metric): value}`` rows (e.g. ``("valid", "rmse")``).
    """
    for epoch in range(1, int(epochs) + 1):
        start_t = time.perf_counter()
        n = int(examples(epoch)) if callable(examples) else int(examples)
        perm = torch.randperm(n, generator=gen)
        total = weight = 0.0
        n_batches = -(-n // batch_size)
        progress = Progress(f"{name} epoch {epoch} batches", total=n_batches, every=30.0,
                            logger=logger)
        for b, start in enumerate(range(0, n, batch_size)):
            out = batch_loss(perm[start : start + batch_size])
            if out is not None:
                objective, loss_sum, w = out
                for opt in optimizers:
                    opt.zero_grad(set_to_none=True)
                objective.backward()
                for opt in optimizers:
                    opt.step()
                total += loss_sum
                weight += w
            progress.update(b + 1)
        loss = total / weight if weight else float("nan")
        history.add(epoch, "train", "loss", loss)
        extra = after_epoch(epoch) if after_epoch is not None else {}
        for (split, metric), value in extra.items():
            history.add(epoch, split, metric, value)
        shown = "".join(f", {s} {m} {v:.4f}" for (s, m), v in extra.items())
        logger.info("%s epoch %d/%d: loss %.4f%s (%.1f s, %d examples, %d batches)", name, epoch,
                    epochs, loss, shown, time.perf_counter() - start_t, n, n_batches)


class RowMeanSGD(torch.optim.Optimizer):
    """SGD on sparse embedding gradients in which every touched row moves by ``lr`` times the
    *mean* of the gradients of its lookups in the batch (biased MF's update).

    Written here because no torch optimiser does this: plain SGD on sparse gradients sums a
    row's gradients, so a popular item looked up 1,000 times in a batch takes a 1,000x step and
    diverges; SparseAdam adapts the step but is not the paper's SGD and measured ~15% more CPU
    per 131K-entry batch at 358K x 292K. The lookups of a row are the indices of the
    uncoalesced sparse gradient ``nn.Embedding(sparse=True)`` produces (one per lookup;
    ``tests/test_torch_models.py`` checks the step against a hand-computed mean).
    """

    def __init__(self, params, lr: float):
        super().__init__(params, {"lr": float(lr)})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if not g.is_sparse:
                    raise TypeError("RowMeanSGD needs sparse gradients (nn.Embedding(sparse=True))")
                idx, vals = g._indices()[0], g._values()
                counts = torch.bincount(idx, minlength=p.shape[0]).clamp_(min=1)
                step = vals * (-group["lr"] / counts[idx].to(vals.dtype))[:, None]
                # scatter_add_ measured 2x cheaper than index_add_ for this update
                p.scatter_add_(0, idx[:, None].expand(-1, p.shape[1]), step)


def stored(keys: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Whether each ``user * n_items + item`` key in ``query`` is in the sorted ``keys``.
    Queries are sorted first: a sorted binary search touches memory in order (about 2x faster)."""
    sorted_q, order = torch.sort(query)
    pos = torch.searchsorted(keys, sorted_q).clamp_(max=len(keys) - 1)
    hit = torch.empty_like(query, dtype=torch.bool)
    hit[order] = keys[pos] == sorted_q
    return hit


def draw(cdf: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` item ids drawn from the distribution with cumulative probabilities ``cdf``
    (float64, last entry 1): inverse-CDF sampling, one uniform draw each."""
    u = torch.rand(n, generator=gen, dtype=torch.float64)
    return torch.searchsorted(cdf, u, right=True).clamp_(max=len(cdf) - 1)


# -- biased MF ---------------------------------------------------------------------------------
def train_mf(
    train: tuple[np.ndarray, np.ndarray, np.ndarray], valid: tuple[np.ndarray, np.ndarray, np.ndarray],
    keys: np.ndarray, shape: tuple[int, int], mu: float, *, factors: int, epochs: int,
    batch_size: int, learning_rate: float, regularization: float, negatives: int,
    init_std: float, gen: torch.Generator, history: History,
) -> tuple[np.ndarray, np.ndarray]:
    """Biased MF by row-mean SGD (see ``mf``). ``train``/``valid``: ``(users, items, target)``
    entries; ``keys``: sorted ``user * n_items + item`` of every stored entry (sampled negatives
    that hit one are masked out). Returns ``P = [p_u | b_u]`` (n_users, f+1) and
    ``Q = [q_i | b_i]`` (n_items, f+1)."""
    n_users, n_items = shape
    f, neg, reg = int(factors), int(negatives), float(regularization)
    users, items, target = (torch.from_numpy(a) for a in train)
    v_users, v_items, v_target = (torch.from_numpy(a) for a in valid)
    keys_t = torch.from_numpy(keys)
    P = nn.Embedding(n_users, f + 1, sparse=True)
    Q = nn.Embedding(n_items, f + 1, sparse=True)
    with torch.no_grad():
        for table in (P, Q):
            table.weight.zero_()
            table.weight[:, :f].normal_(0.0, init_std, generator=gen)
    sq = [0.0]  # squared error of the played training entries of the running epoch

    def batch_loss(sel):
        u, i, y = users[sel], items[sel], target[sel]
        w = torch.ones(len(sel))
        if neg:
            nu = u.repeat(neg)
            ni = torch.randint(n_items, (len(nu),), generator=gen)
            u, i = torch.cat([u, nu]), torch.cat([i, ni])
            y = torch.cat([y, torch.zeros(len(nu))])
            w = torch.cat([w, (~stored(keys_t, nu * n_items + ni)).float()])
        pu, qi = P(u), Q(i)
        err2 = (mu + pu[:, f] + qi[:, f] + (pu[:, :f] * qi[:, :f]).sum(1) - y) ** 2
        each = (err2 + reg * ((pu * pu).sum(1) + (qi * qi).sum(1))) * w
        sq[0] += float(err2[: len(sel)].detach().sum())
        return each.sum(), float(each.detach().sum()), float(w.sum())

    def after_epoch(epoch):
        out = {("train", "rmse"): float(np.sqrt(sq[0] / len(target)))}
        sq[0] = 0.0
        if len(v_target):
            out[("valid", "rmse")] = _mf_rmse(P.weight, Q.weight, mu, v_users, v_items, v_target)
        return out

    fit_loop(batch_loss, [RowMeanSGD([P.weight, Q.weight], learning_rate)], epochs=epochs,
             batch_size=batch_size, gen=gen, history=history, name="mf", examples=len(target),
             after_epoch=after_epoch)
    return P.weight.detach().numpy().copy(), Q.weight.detach().numpy().copy()


@torch.no_grad()
def _mf_rmse(P: torch.Tensor, Q: torch.Tensor, mu: float, users: torch.Tensor, items: torch.Tensor,
             target: torch.Tensor, chunk: int = 1 << 20) -> float:
    f = P.shape[1] - 1
    sq = 0.0
    for s in range(0, len(target), chunk):
        pu, qi = P[users[s : s + chunk]], Q[items[s : s + chunk]]
        pred = mu + pu[:, f] + qi[:, f] + (pu[:, :f] * qi[:, :f]).sum(1)
        sq += float(((pred - target[s : s + chunk]) ** 2).sum())
    return float(np.sqrt(sq / len(target)))


# -- item2vec, course variant (KL to co-occurrence rows) ----------------------------------------
def train_kl_item2vec(
    target: sp.csr_matrix, trainable: np.ndarray, *, factors: int, epochs: int, batch_size: int,
    learning_rate: float, gen: torch.Generator, history: History,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Embedding(n, d) -> Linear(d, n) -> log_softmax`` fit by KL divergence (Adam) to the rows
    ``trainable`` of ``target`` (n x n, rows sum to 1). Returns the embeddings (n, d), the output
    weights (n, d) and the output biases (n,)."""
    n, d = target.shape[0], int(factors)
    embed, out = nn.Embedding(n, d), nn.Linear(d, n)
    with torch.no_grad():  # torch's default initialisations, drawn from the fit's generator
        embed.weight.normal_(0.0, 1.0, generator=gen)
        bound = 1.0 / d**0.5
        out.weight.uniform_(-bound, bound, generator=gen)
        out.bias.uniform_(-bound, bound, generator=gen)
    opt = torch.optim.Adam([*embed.parameters(), *out.parameters()], lr=learning_rate)
    kl = nn.KLDivLoss(reduction="batchmean")
    trainable_t = torch.from_numpy(trainable)

    def batch_loss(sel):
        batch = trainable_t[sel]
        rows = torch.from_numpy(target[batch.numpy()].toarray())
        loss = kl(F.log_softmax(out(embed(batch)), dim=1), rows)
        return loss, float(loss.detach()) * len(sel), float(len(sel))

    fit_loop(batch_loss, [opt], epochs=epochs, batch_size=batch_size, gen=gen, history=history,
             name="item2vec", examples=len(trainable))
    return (embed.weight.detach().numpy().copy(), out.weight.detach().numpy().copy(),
            out.bias.detach().numpy().copy())


# -- item2vec, skip-gram with negative sampling -------------------------------------------------
def train_sgns(
    sample_pairs: Callable[[], tuple[np.ndarray, np.ndarray]], noise: np.ndarray, *, factors: int,
    epochs: int, negatives: int, batch_size: int, learning_rate: float, gen: torch.Generator,
    history: History,
) -> tuple[np.ndarray, np.ndarray]:
    """Skip-gram with negative sampling: ``sample_pairs()`` draws each epoch's (center, context)
    pairs, ``noise`` (n_items,) is the noise distribution of the negatives. Loss per pair
    ``-log s(v_i . c_j) - sum_n log s(-v_i . c_n)`` (SparseAdam). Returns the input (``v``) and
    output (``c``) embeddings, (n_items, d) each."""
    n_items, d, k = len(noise), int(factors), int(negatives)
    v_in = nn.Embedding(n_items, d, sparse=True)
    v_out = nn.Embedding(n_items, d, sparse=True)
    with torch.no_grad():  # word2vec's initialisation
        v_in.weight.uniform_(-0.5 / d, 0.5 / d, generator=gen)
        v_out.weight.zero_()
    opt = torch.optim.SparseAdam([v_in.weight, v_out.weight], lr=learning_rate)
    cdf = torch.from_numpy(np.cumsum(noise / noise.sum()))
    pairs: list[torch.Tensor] = []

    def new_pairs(epoch):
        centers, ctx = sample_pairs()
        if not len(centers):
            raise ValueError("sgns: no user has 2 or more items in train; nothing to learn")
        pairs[:] = [torch.from_numpy(centers), torch.from_numpy(ctx)]
        return len(centers)

    def batch_loss(sel):
        c, o = v_in(pairs[0][sel]), v_out(pairs[1][sel])  # (b, d)
        neg = draw(cdf, len(sel) * k, gen).view(len(sel), k)
        neg_logit = torch.bmm(v_out(neg), c.unsqueeze(2)).squeeze(2)  # (b, k)
        each = -(F.logsigmoid((c * o).sum(1)) + F.logsigmoid(-neg_logit).sum(1))
        return each.mean(), float(each.detach().sum()), float(len(sel))

    fit_loop(batch_loss, [opt], epochs=epochs, batch_size=batch_size, gen=gen, history=history,
             name="sgns", examples=new_pairs)
    return v_in.weight.detach().numpy().copy(), v_out.weight.detach().numpy().copy()


# -- two-tower ------------------------------------------------------------------------------------
class Towers(nn.Module):
    """Item embedding table shared by a user tower (over the mean embedding of the user's items)
    and an item tower; both two-layer ReLU MLPs with unit-norm outputs."""

    def __init__(self, n_items: int, d: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(n_items, d, sparse=True)
        self.user_mlp = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, d))
        self.item_mlp = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, d))

    def users(self, pooled: torch.Tensor) -> torch.Tensor:
        """Unit user vectors from mean-pooled item embeddings ``(b, d)``."""
        return F.normalize(self.user_mlp(pooled), dim=1)

    def items(self, items: torch.Tensor) -> torch.Tensor:
        """Unit item vectors of item ids ``(b,)``."""
        return F.normalize(self.item_mlp(self.embed(items)), dim=1)

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """``embedding`` and ``{user,item}_{w1,b1,w2,b2}`` as numpy copies."""
        out = {"embedding": self.embed.weight.detach().numpy().copy()}
        for side, mlp in (("user", self.user_mlp), ("item", self.item_mlp)):
            for n, layer in (("1", mlp[0]), ("2", mlp[2])):
                out[f"{side}_w{n}"] = layer.weight.detach().numpy().copy()
                out[f"{side}_b{n}"] = layer.bias.detach().numpy().copy()
        return out


def _row_items(csr: sp.csr_matrix, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated item ids of ``users``' rows and the bag offsets (EmbeddingBag layout)."""
    starts, lengths = csr.indptr[users], np.diff(csr.indptr)[users]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = np.arange(lengths.sum()) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)
    return csr.indices[flat].astype(np.int64), offsets.astype(np.int64)


def history_bags(bag: np.ndarray, lengths: np.ndarray, positives: np.ndarray, cap: int | None,
                 gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """EmbeddingBag input of each pair's user history. ``bag``, ``lengths``: the concatenated
    items of the pairs' users and their counts (:func:`_row_items`); returns ``(items, offsets)``
    of the items other than ``positives[b]`` (each user's row holds it once): all of them, or
    for a user with more than ``cap`` others, ``cap`` of them drawn uniformly with replacement
    (``None``: always all). The mean of such a sample estimates the mean of all without bias, at
    a cost that no longer grows with the user's history.

    >>> g = torch.Generator().manual_seed(0)
    >>> bag, lengths = np.array([0, 1, 2, 3, 1, 2]), np.array([4, 2])
    >>> history_bags(bag, lengths, np.array([2, 1]), None, g)
    (array([0, 1, 3, 2]), array([0, 3]))
    >>> items, offsets = history_bags(bag, lengths, np.array([2, 1]), 2, g)
    >>> offsets.tolist(), set(items[:2]) <= {0, 1, 3}, items[2:].tolist()
    ([0, 2], True, [2])
    """
    starts = np.cumsum(lengths) - lengths
    seg = np.repeat(np.arange(len(lengths)), lengths)
    other = bag != positives[seg]
    limit = int(lengths.max(initial=0)) if cap is None else int(cap)
    kept = np.minimum(lengths - 1, limit)
    big = lengths - 1 > limit
    pick = np.flatnonzero(other & ~big[seg])
    if big.any():
        each = np.repeat(np.flatnonzero(big), limit)
        draw = torch.rand(len(each), generator=gen, dtype=torch.float64).numpy()
        r = np.minimum((draw * (lengths[each] - 1)).astype(np.int64), lengths[each] - 2)
        positive_at = (np.flatnonzero(~other) - starts)[each]  # the positive's place in its row
        drawn = starts[each] + r + (r >= positive_at)
        owner = np.concatenate([seg[pick], each])
        pick = np.concatenate([pick, drawn])[np.argsort(owner, kind="stable")]
    return bag[pick], np.concatenate([[0], np.cumsum(kept)[:-1]]).astype(np.int64)


def played_mask(bag: np.ndarray, lengths: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``(len(lengths), len(columns))`` bool: does row ``b``'s bag (``bag`` cut into ``lengths``)
    hold item ``columns[c]``? Each bag entry is looked up in a table indexed by item id (the
    batch's distinct items), then the distinct items' columns are copied to the repeated ones:
    one pass over the bags (a binary search of every entry among the columns cost 4 of the
    15 ms of a two-tower batch on the default run's songs).

    >>> played_mask(np.array([0, 1, 2, 2, 5]), np.array([3, 2]), np.array([2, 5, 2]))
    array([[ True, False,  True],
           [ True,  True,  True]])
    """
    if not len(columns):
        return np.zeros((len(lengths), 0), dtype=bool)
    distinct, column_of = np.unique(columns, return_inverse=True)
    slot_of_item = np.full(int(distinct[-1]) + 1, -1, dtype=np.int64)
    slot_of_item[distinct] = np.arange(len(distinct))
    slot = np.full(len(bag), -1, dtype=np.int64)
    known = bag <= distinct[-1]
    slot[known] = slot_of_item[bag[known]]
    hit = slot >= 0
    rows = np.repeat(np.arange(len(lengths)), lengths)
    played = np.zeros((len(lengths), len(distinct)), dtype=bool)
    played[rows[hit], slot[hit]] = True
    return played[:, column_of]


def train_twotower(
    B: sp.csr_matrix, *, factors: int, hidden: int, epochs: int, batch_size: int,
    learning_rate: float, temperature: float, gen: torch.Generator, history: History,
    history_sample: int | None = None,
) -> dict[str, np.ndarray]:
    """Two-tower model by in-batch sampled softmax with the logQ correction (see ``twotower``).

    ``B``: binary users x items CSR, sorted indices; ``history_sample``: items of the user's
    history pooled per training pair (:func:`history_bags`). Returns ``Towers.numpy_weights()``.
    """
    n_items = B.shape[1]
    deg = np.diff(B.indptr)
    rows = np.repeat(np.arange(B.shape[0], dtype=np.int64), deg)
    cols = B.indices.astype(np.int64)
    pairs = np.flatnonzero(deg[rows] >= 2)
    if len(pairs) < 2:
        raise ValueError("twotower: fewer than 2 pairs from users with >= 2 items in train")
    # log of each item's share of the training pairs: its probability of being a batch column
    counts = np.bincount(cols[pairs], minlength=n_items).astype(np.float64)
    log_q = torch.from_numpy(np.log(np.maximum(counts, 1.0) / len(pairs))).float()
    net = Towers(n_items, int(factors), int(hidden))
    with torch.no_grad():
        net.embed.weight.normal_(0.0, 0.1, generator=gen)
        for layer in (*net.user_mlp, *net.item_mlp):
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_uniform_(layer.weight, a=5**0.5, generator=gen)
                nn.init.uniform_(layer.bias, -0.1, 0.1, generator=gen)
    dense = [p for n, p in net.named_parameters() if not n.startswith("embed")]
    optimizers = [torch.optim.Adam(dense, lr=learning_rate),
                  torch.optim.SparseAdam([net.embed.weight], lr=learning_rate)]
    tau = float(temperature)

    def batch_loss(sel):
        if len(sel) < 2:
            return None
        entry = pairs[sel.numpy()]
        u, i = rows[entry], cols[entry]
        bag, _ = _row_items(B, u)
        # the positive is left out of the user's mean: the tower cannot copy its input
        pooled_items, offsets = history_bags(bag, deg[u], i, history_sample, gen)
        pooled = F.embedding_bag(torch.from_numpy(pooled_items), net.embed.weight,
                                 torch.from_numpy(offsets), mode="mean", sparse=True)
        i_t = torch.from_numpy(i)
        logits = net.users(pooled) @ net.items(i_t).T / tau - log_q[i_t][None, :]
        # items of the batch that u_b played are not its negatives (the diagonal: its positive)
        mask = torch.from_numpy(played_mask(bag, deg[u], i)) & ~torch.eye(len(sel), dtype=torch.bool)
        loss = F.cross_entropy(logits.masked_fill(mask, float("-inf")), torch.arange(len(sel)))
        return loss, float(loss.detach()) * len(sel), float(len(sel))

    fit_loop(batch_loss, optimizers, epochs=epochs, batch_size=batch_size, gen=gen,
             history=history, name="twotower", examples=len(pairs))
    return net.numpy_weights()
