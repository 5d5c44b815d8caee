"""The strong-generalisation evaluation (rule ``evaluate_held_out``): users no fit has seen
(``split.held_out_users``) are folded into each train fit of a family that can
(:meth:`~tastemap.models.base.Recommender.recommend_new`, the code path of ``tastemap recommend
--likes``) and measured on the items not folded in; validation users choose each family's
variant, test users give the leaderboard; and the likes curve (n named items -> quality).

Orientation: ``held`` matrices are users x items CSR of the full catalogue shape holding only
the held-out users' rows (``split/seed<N>/users/{valid,test}_<entity>.npz``); ``train`` is the
matrix the train fits learned from. Per-user tables are long, as in
:mod:`tastemap.pipeline.evaluation`. Nothing here writes files.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.data.split import PICKS, fold_in_split, likes_split
from tastemap.evaluate import bias, metrics, stats
from tastemap.models.base import Recommender
from tastemap.models.tables import favourite_plays
from tastemap.pipeline.fit import load_model

logger = logging.getLogger(__name__)

#: the metrics of the held-out-users protocol of Liang et al. (2018) and Steck (2019)
LITERATURE = ("trecall@20", "trecall@50", "ndcg@100")
#: length of every list scored: the deepest cut-off of :data:`LITERATURE`
K_LIST = 100


class Fit(NamedTuple):
    """One train fit of a family that folds in: its (model, variant), file and outside module."""

    model: str
    variant: str
    path: str
    module: str | None = None


class Context(NamedTuple):
    """What every list is measured against: the train fits' matrix, its item popularity
    (training users per item, users with an item) and long-tail mask, and the cut-offs."""

    train: sp.csr_matrix
    n_i: np.ndarray
    n_users: int
    tail: np.ndarray
    ks: tuple[int, ...]


def context(train: sp.csr_matrix, ks: Sequence[int], long_tail_share: float) -> Context:
    """The :class:`Context` of one (entity, seed): ``train`` is the train fits' matrix."""
    n_i, n_users = metrics.item_popularity(train)
    return Context(train, n_i, n_users, bias.long_tail(n_i, long_tail_share),
                   tuple(sorted(set(int(k) for k in ks))))


def top_items(model: Recommender, rows: sp.csr_matrix, k: int) -> np.ndarray:
    """``(n_rows, k)`` int32 item ids, best first, that ``model`` gives each row of ``rows``
    (a new user's plays; those items excluded), scored in blocks of the model's dense block."""
    out = np.full((rows.shape[0], k), -1, dtype=np.int32)
    step = model._block_rows()
    for start in range(0, rows.shape[0], step):
        ids, _ = model.recommend_new(rows[start : start + step], k=min(k, model.n_items))
        out[start : start + len(ids), : ids.shape[1]] = ids
    return out


def user_metrics(items: np.ndarray, scored: sp.csr_matrix, ctx: Context) -> dict[str, np.ndarray]:
    """Every per-user metric of the lists ``items`` (``(n, K)``, ``K >= K_LIST``) against the
    rows of ``scored`` (``(n, n_items)``, each with an item): :data:`LITERATURE`, then the
    project's ranking metrics, novelty and popularity metrics at ``ctx.ks``."""
    hits = metrics.in_matrix(items, scored, np.arange(scored.shape[0]))
    n_rel = np.diff(scored.indptr)
    out = metrics.truncated_recall(hits, n_rel, (20, 50))
    out["ndcg@100"] = metrics.ranking_metrics(hits, n_rel, [K_LIST])[f"ndcg@{K_LIST}"]
    out.update(metrics.ranking_metrics(hits, n_rel, ctx.ks))
    out.update(metrics.novelty(items, ctx.train, ctx.ks))
    out.update(bias.popularity_metrics(items, ctx.n_i, ctx.n_users, ctx.tail, ctx.ks))
    return out


def score_part(fits: Sequence[Fit], held: sp.csr_matrix, share: float, seed, ctx: Context,
               ) -> pd.DataFrame:
    """Per-user metrics (long: ``model, variant, user_idx, metric, value``) of every fit on the
    held-out users of ``held``: a seeded ``share`` of each user's items folded in, the rest
    scored (:func:`tastemap.data.split.fold_in_split`)."""
    fold, scored = fold_in_split(held, share, seed)
    users = np.flatnonzero(np.diff(scored.indptr))
    fold, scored = fold[users], scored[users]
    logger.info("%d users: %d items folded in, %d scored", len(users), fold.nnz, scored.nnz)
    frames = []
    for fit in fits:
        model = load_model(fit.path, fit.model, fit.module, train=ctx.train)
        values = user_metrics(top_items(model, fold, K_LIST), scored, ctx)
        wide = pd.DataFrame({"user_idx": users.astype(np.int32), **values})
        frames.append(metrics.to_long(wide, model=fit.model, variant=fit.variant))
        logger.info("%s/%s: %s", fit.model, fit.variant,
                    ", ".join(f"{m} {np.nanmean(values[m]):.4f}" for m in LITERATURE))
    return _categorical(pd.concat(frames, ignore_index=True))


def _categorical(long: pd.DataFrame) -> pd.DataFrame:
    for col in ("model", "variant", "metric"):
        long[col] = long[col].astype(str).astype("category")
    return long


def choose(valid_board: pd.DataFrame, fits: Sequence[Fit], primary: str) -> list[Fit]:
    """Each model's fit with the best validation-users mean of ``primary``
    (:func:`tastemap.evaluate.stats.best_variants`); a model absent from ``valid_board`` (one
    variant) keeps its only fit."""
    best = stats.best_variants(valid_board.astype({"model": str, "variant": str}), primary)
    best = dict(zip(best["model"], best["variant"], strict=True))
    return [f for f in fits if best.get(f.model, f.variant) == f.variant]


def likes_curve(fits: Sequence[Fit], held: sp.csr_matrix, ns: Sequence[int], seed, ctx: Context,
                metric: str, n_resamples: int) -> pd.DataFrame:
    """The likes curve: for the test users with more than ``max(ns)`` items, each fit folds in
    ``n`` of a user's items (every pick of :data:`tastemap.data.split.PICKS`), each counted
    as ``tastemap recommend --likes`` counts a name (:func:`favourite_plays` of ``ctx.train``),
    and is measured by ``metric`` on the same target at every n: the user's items outside the
    first ``max(ns)`` (:func:`tastemap.data.split.likes_split`). The first ``max(ns)`` items
    that are not folded in are taken out of the lists (neither told nor scored), so a model
    that ignores what it is told draws a flat line.

    ``seed``: the seed sequence of the picks; its first element (the analysis seed) seeds the
    bootstrap. Returns ``model, variant, pick, n, n_users, metric, mean, ci_low, ci_high``
    (95% bootstrap CI over the users), in fit, pick and n order."""
    ns = sorted(set(int(n) for n in ns))
    measured = held[np.flatnonzero(np.diff(held.indptr) > ns[-1])]
    plays = favourite_plays(ctx.train)
    at = int(metric.split("@")[1])
    parts = {pick: likes_split(measured, ns, pick, seed) for pick in PICKS}
    rows = []
    for fit in fits:
        model = load_model(fit.path, fit.model, fit.module, train=ctx.train)
        for pick, (liked, pool, target) in parts.items():
            users = np.arange(target.shape[0])
            for n, told in zip(ns, liked, strict=True):
                told = told.copy()
                told.data[:] = plays
                items = top_items(model, told, max(at, max(ctx.ks)) + ns[-1])
                items = without(items, metrics.in_matrix(items, pool, users), at)
                hits = metrics.in_matrix(items, target, users)
                values = metrics.ranking_metrics(hits, np.diff(target.indptr), [at])[metric]
                mean, low, high = stats.bootstrap_ci(values[:, None], n_resamples,
                                                     seed=int(seed[0]))
                rows.append(dict(model=fit.model, variant=fit.variant, pick=pick, n=n,
                                 n_users=len(values), metric=metric, mean=float(mean[0]),
                                 ci_low=float(low[0]), ci_high=float(high[0])))
    table = pd.DataFrame(rows)
    logger.info("likes curve (%d users):\n%s", measured.shape[0],
                table.pivot_table(index=["model", "pick"], columns="n", values="mean",
                                  sort=False).round(4).to_string() if len(table) else "empty")
    return table


def without(items: np.ndarray, drop: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` ids of each row of ``items`` whose ``drop`` is False, in order; ``-1``
    where fewer are left.

    >>> without(np.array([[4, 2, 7, 9]]), np.array([[False, True, False, False]]), 3).tolist()
    [[4, 7, 9]]
    """
    order = np.argsort(drop, axis=1, kind="stable")
    kept = np.take_along_axis(np.where(drop, -1, items), order, axis=1)[:, :k]
    return kept.astype(items.dtype)


def best_at_each_n(curve: pd.DataFrame) -> pd.DataFrame:
    """The family the likes curve favours at each (pick, n): ``pick, n, model, variant, mean``.

    >>> t = pd.DataFrame({"model": ["a", "b", "a", "b"], "variant": "default",
    ...                   "pick": "random", "n": [1, 1, 3, 3], "mean": [0.2, 0.1, 0.2, 0.3]})
    >>> best_at_each_n(t)["model"].tolist()
    ['a', 'b']
    """
    top = curve.loc[curve.groupby(["pick", "n"], sort=False)["mean"].idxmax()]
    return top[["pick", "n", "model", "variant", "mean"]].reset_index(drop=True)


def markdown(board: pd.DataFrame, chosen: Sequence[Fit], curve: pd.DataFrame,
             cannot: Sequence[str], entity: str, seed: int, primary: str, share: float,
             ) -> str:
    """The held-out-users page of one (entity, seed): the leaderboard of each family's chosen
    variant, the families not measured, and the likes curve as a table."""
    n = int(board["n_users"].max()) if len(board) else 0
    text = [f"# New listeners (held-out users): {entity}, seed {seed}\n",
            f"Users no fit has seen: {share:.0%} of each one's {entity}s folded in without "
            f"refitting, the rest scored. Ranked by {primary}; cells are mean [95% bootstrap CI] "
            f"over {n} test users. trecall@k divides by min(k, n) (Liang et al. 2018). Each "
            "family's variant was chosen on the validation users: "
            + ", ".join(f"{f.model} `{f.variant}`" for f in chosen) + ".\n"]
    if cannot:
        text.append("Not measured: " + ", ".join(cannot) + " (these families cannot score a "
                    "new listener without refitting: `folds_in` is false).\n")
    text.append(stats.markdown_table(board, spread="ci") if len(board) else "No family.\n")
    if len(curve):
        text.append(f"\n## Likes curve: {curve['metric'].iloc[0]} by how many {entity}s a new "
                    f"listener names ({int(curve['n_users'].max())} test users)\n")
        for pick, part in curve.groupby("pick", sort=False):
            text.append(f"\n{pick}:\n\n" + _likes_table(part))
    return "\n".join(text)


def _likes_table(part: pd.DataFrame) -> str:
    """One pick of the likes curve as a Markdown table: a row per model, a column per n."""
    ns = sorted(part["n"].unique())
    lines = ["| model | " + " | ".join(f"n = {n}" for n in ns) + " |", "|---|" + "---|" * len(ns)]
    for model, rows in part.groupby("model", sort=False):
        at = rows.set_index("n")
        lines.append(f"| {model} | " + " | ".join(
            f"{at.loc[n, 'mean']:.4f} [{at.loc[n, 'ci_low']:.4f}, {at.loc[n, 'ci_high']:.4f}]"
            for n in ns) + " |")
    return "\n".join(lines) + "\n"
