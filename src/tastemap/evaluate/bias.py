"""Popularity bias of top-k recommendation lists and its unfairness across user groups.

Orientation: matrices are **users x items** CSR (row = ``user_idx``, column = item index). A
recommendation list is a dense ``(n_eval_users, K)`` int array of item ids, best first, padded
with ``-1`` (:func:`tastemap.evaluate.metrics.rec_matrix`); padded slots are skipped.

Popularity of item ``i`` = its number of training users ``n_i`` and ``U`` = users with a training
item (:func:`tastemap.evaluate.metrics.item_popularity`); its *share of users* is
``p_i = n_i / U``. Definitions:

- long tail: the least-played items that together hold at most ``share`` of all user-item pairs
  (:func:`long_tail`)
- ``arp@k`` = mean ``p_i`` over the user's top-k (Average Recommendation Popularity)
- ``tail@k`` = share of the user's top-k in the long tail (Average Percentage of Long Tail)
- ``gini@k`` (catalogue level) = Gini coefficient of how often each catalogue item appears in the
  top-k lists: 0 = every item shown equally often, towards 1 = one item takes every slot
- mainstreaminess of a user = mean ``p_i`` of the items in the user's profile; its terciles
  split users into ``niche``, ``diverse`` and ``mainstream`` (:func:`groups`), and
  :func:`group_table` compares a metric across them with bootstrap confidence intervals.

References: Celma (2010), *Music Recommendation and Discovery*, ch. 4; Yin et al. (VLDB 2012),
"Challenging the long tail recommendation"; Abdollahpouri, Burke & Mobasher (FLAIRS 2019),
"Managing popularity bias in recommender systems with personalized re-ranking"; Abdollahpouri
et al. (RMSE workshop at RecSys 2019), "The unfairness of popularity bias in recommendation";
Kowald, Schedl & Lex (ECIR 2020), "The unfairness of popularity bias in music recommendation: a
reproducibility study"; Fleder & Hosanagar (Management Science 2009), "Blockbuster culture's
next rise or fall"; Adomavicius & Kwon (IEEE TKDE 2012), "Improving aggregate recommendation
diversity using ranking-based techniques".
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.evaluate.stats import bootstrap_means

#: user groups by mainstreaminess, least mainstream first (:func:`groups`).
GROUP_LABELS = ("niche", "diverse", "mainstream")


def long_tail(n_i: np.ndarray, share: float) -> np.ndarray:
    """Items of the long tail: the least-played items holding at most ``share`` of all pairs.

    Items are sorted by ascending ``n_i`` (ties by item index) and cumulated; an item is in
    the tail while the cumulative count is at most ``share`` of the total, so adding the next
    item would exceed it. Items nobody played are always tail. This is the head / long-tail
    split by cumulative plays of Celma (2010, *Music Recommendation and Discovery*, ch. 4),
    used for the long-tail share (APLT) of Abdollahpouri et al. (FLAIRS 2019).

    Parameters
    ----------
    n_i : ``(n_items,)`` training users per item.
    share : ``0 < share < 1``, the tail's largest share of user-item pairs (e.g. 0.2).

    Returns
    -------
    ``(n_items,)`` bool.

    >>> long_tail(np.array([5, 1, 0, 3, 1]), 0.2).tolist()  # cumsum 0, 1, 2 | 5 of 10
    [False, True, True, False, True]
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be in (0, 1), got {share}")
    n_i = np.asarray(n_i, dtype=np.int64)
    order = np.argsort(n_i, kind="stable")
    cum = np.cumsum(n_i[order])
    total = cum[-1] if len(cum) else 0
    # a quotient of integers compared with share: exact when the two are equal, where
    # share * total can round below an integer (0.29 * 100 = 28.999...)
    frac = cum / total if total > 0 else np.zeros(len(cum))
    tail = np.zeros(len(n_i), dtype=bool)
    tail[order] = frac <= share
    return tail


def popularity_metrics(
    items: np.ndarray, n_i: np.ndarray, n_users: int, tail: np.ndarray, ks: Sequence[int],
) -> dict[str, np.ndarray]:
    """Per-user ``arp@k`` and ``tail@k`` of the top-k lists, for every k.

    ``arp@k`` = mean ``n_i / n_users`` of the user's non-padded top-k items (Average
    Recommendation Popularity: Yin et al. 2012; Abdollahpouri et al., FLAIRS 2019);
    ``tail@k`` = share of those items in ``tail`` (APLT of the same paper). NaN for a user
    without any recommended item in the top-k.

    Parameters
    ----------
    items : ``(n_eval_users, K)`` recommended item ids, best first, ``-1`` padding; K >= max(ks).
    n_i : ``(n_items,)`` training users per item.
    n_users : users with a training item (``U``).
    tail : ``(n_items,)`` bool, the long tail (:func:`long_tail`).
    ks : cut-offs.

    Returns
    -------
    ``{"arp@5": (n_eval_users,) float64, "tail@5": ..., ...}``, k ascending.

    >>> m = popularity_metrics(np.array([[0, 1], [2, -1]]), np.array([4, 2, 1]), 4,
    ...                        np.array([False, False, True]), [1, 2])
    >>> m["arp@2"].tolist(), m["tail@2"].tolist()
    ([0.75, 0.25], [0.0, 1.0])
    """
    items = np.asarray(items)
    ks = sorted(set(int(k) for k in ks))
    if ks[-1] > items.shape[1]:
        raise ValueError(f"k = {ks[-1]} exceeds the {items.shape[1]} ranks given")
    valid = items >= 0
    safe = np.where(valid, items, 0)
    share = np.asarray(n_i, dtype=np.float64) / max(int(n_users), 1)
    cum_pop = np.cumsum(np.where(valid, share[safe], 0.0), axis=1)
    cum_tail = np.cumsum(valid & np.asarray(tail, dtype=bool)[safe], axis=1)
    cum_n = np.cumsum(valid, axis=1)
    out = {}
    for k in ks:
        n = cum_n[:, k - 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"arp@{k}"] = np.where(n > 0, cum_pop[:, k - 1] / n, np.nan)
            out[f"tail@{k}"] = np.where(n > 0, cum_tail[:, k - 1] / n, np.nan)
    return out


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative counts ``x`` (``(n,)``): with ``x`` sorted ascending,
    ``G = sum_i (2i - n - 1) x_i / (n sum x)``, ``i = 1..n``; NaN when ``sum x = 0``.

    >>> gini(np.array([3, 3, 3])), gini(np.array([0, 0, 0, 4]))
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(np.sum((2.0 * i - n - 1.0) * x) / (n * total))


def exposure_gini(items: np.ndarray, n_items: int, ks: Sequence[int]) -> dict[str, float]:
    """Catalogue-level ``gini@k``: Gini coefficient of the exposure counts of all ``n_items``
    items (never recommended = 0) over the given users' top-k lists.

    0 = equal exposure, towards 1 = all exposure on one item ((n - 1) / n at most). The
    concentration of recommendations as measured by Fleder & Hosanagar (2009) and Adomavicius
    & Kwon (2012); the popularity bias of music recommenders: Kowald et al. (ECIR 2020).

    Parameters
    ----------
    items : ``(n_eval_users, K)`` recommended item ids, ``-1`` padding; K >= max(ks).
    n_items : catalogue size.
    ks : cut-offs.

    >>> exposure_gini(np.array([[0, 1], [2, 3]]), 4, [2])
    {'gini@2': 0.0}
    """
    out = {}
    for k in sorted(set(int(k) for k in ks)):
        top = np.asarray(items)[:, :k]
        out[f"gini@{k}"] = gini(np.bincount(top[top >= 0], minlength=n_items))
    return out


def mainstreaminess(profile: sp.csr_matrix, n_i: np.ndarray, n_users: int) -> np.ndarray:
    """Each user's mean share of users ``p_i = n_i / n_users`` over the items of their profile.

    Every stored non-zero entry of the row counts once, whatever its play count; NaN for an
    empty row. Users are grouped by the popularity of what they play after Abdollahpouri et al.
    (RMSE workshop at RecSys 2019) and Kowald et al. (ECIR 2020, "The unfairness of popularity
    bias in music recommendation: a reproducibility study"); both rank users by the share of
    popular (head) items in their profile, the mean ``p_i`` ranks them without a head cut-off.

    Parameters
    ----------
    profile : users x items CSR (e.g. the training matrix), ``n_items`` columns.
    n_i : ``(n_items,)`` training users per item.
    n_users : users with a training item (``U``).

    Returns
    -------
    ``(profile.shape[0],)`` float64.

    >>> profile = sp.csr_matrix(np.array([[3, 0, 1], [0, 0, 0], [0, 2, 0]]))
    >>> mainstreaminess(profile, np.array([4, 1, 2]), 4).tolist()  # (1 + 0.5) / 2
    [0.75, nan, 0.25]
    """
    m = sp.csr_matrix(profile, copy=True)
    m.eliminate_zeros()
    if m.shape[1] != len(n_i):
        raise ValueError(f"profile has {m.shape[1]} items, n_i {len(n_i)}")
    share = np.asarray(n_i, dtype=np.float64) / max(int(n_users), 1)
    counts = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    sums = np.bincount(rows, weights=share[m.indices], minlength=m.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def groups(values: np.ndarray, labels: Sequence[str] = GROUP_LABELS) -> np.ndarray:
    """Near-equal rank groups of the non-NaN ``values``, lowest first (terciles by default).

    Values are ranked (stable sort: ties by position) and the ``m`` ranked values split into
    ``len(labels)`` consecutive parts of sizes differing by at most one, so ties never empty a
    group. NaN gets ``""``.

    Returns
    -------
    ``(len(values),)`` object array of labels.

    >>> groups(np.array([0.3, np.nan, 0.1, 0.2, 0.1])).tolist()
    ['mainstream', '', 'niche', 'diverse', 'niche']
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.full(len(v), "", dtype=object)
    ok = np.flatnonzero(~np.isnan(v))
    order = ok[np.argsort(v[ok], kind="stable")]
    part = np.arange(len(order)) * len(labels) // max(len(order), 1)
    out[order] = np.asarray(labels, dtype=object)[part]
    return out


def _group_rows(wide: pd.DataFrame, group: np.ndarray, labels: Sequence[str], n_resamples: int,
                seed: int) -> list[dict]:
    """Rows of :func:`group_table` for every run (column of ``wide``: users x runs, NaN where a
    user has no value): one bootstrap per group serves every run (users resampled jointly
    across runs, each group with its own seed sequence), and the gap's replicates are the
    difference of the last and the first group's."""
    runs = list(wide.columns)
    stats_of = []
    for i, label in enumerate(labels):
        part = wide.to_numpy(np.float64)[group == label]
        mean, boot = bootstrap_means(part, n_resamples, [seed, i])
        stats_of.append((label, (~np.isnan(part)).sum(axis=0), mean, boot))
    rows = []
    for j, run in enumerate(runs):
        for label, n, mean, boot in stats_of:
            low, high = _quantiles(None if boot is None else boot[:, j])
            rows.append({"run": run, "group": label, "n_users": int(n[j]), "mean": mean[j],
                         "ci_low": low, "ci_high": high, "relative_gap": np.nan})
        (_, n0, m0, b0), (_, n1, m1, b1) = stats_of[0], stats_of[-1]
        gap = m1[j] - m0[j]
        low, high = _quantiles(None if b0 is None or b1 is None else b1[:, j] - b0[:, j])
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = gap / m1[j] if m1[j] != 0 else np.nan
        rows.append({"run": run, "group": "gap", "n_users": int(n0[j] + n1[j]), "mean": gap,
                     "ci_low": low, "ci_high": high, "relative_gap": relative})
    return rows


def _quantiles(boot: np.ndarray | None) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap replicates (NaN without any)."""
    if boot is None or not np.isfinite(boot).any():
        return np.nan, np.nan
    low, high = np.nanquantile(boot, [0.025, 0.975])
    return float(low), float(high)


def group_table(
    per_user: pd.DataFrame, group_of: pd.Series, metric: str, n_resamples: int, seed: int,
    labels: Sequence[str] = GROUP_LABELS,
) -> pd.DataFrame:
    """Mean and 95% bootstrap CI of ``metric`` in every user group of every run, and the gap.

    Parameters
    ----------
    per_user : long table ``model, variant, user_idx, metric, value``
        (:func:`tastemap.evaluate.metrics.to_long`; model/variant may be categorical).
    group_of : group label (e.g. :func:`groups` of :func:`mainstreaminess`) indexed by
        ``user_idx``; users without a label (missing or ``""``) and NaN values are left out.
    metric : the metric compared (e.g. ``"ndcg@10"``).
    n_resamples, seed : bootstrap resamples and their seed (same seed -> same table).
    labels : the groups, in order; the gap is ``labels[-1]`` minus ``labels[0]``.

    Returns
    -------
    ``model, variant, metric, group, n_users, mean, ci_low, ci_high, relative_gap``: per run
    (first-appearance order) one row per label, then the row ``group = "gap"``: mean =
    mean(last) - mean(first), its CI from resampling both groups independently,
    ``n_users`` = users of both, ``relative_gap`` = gap / mean(last) (NaN on the other rows).
    """
    sub = per_user[per_user["metric"].astype(str) == metric]
    if not len(sub):
        raise ValueError(f"no per-user values of metric {metric!r}")
    group = sub["user_idx"].map(group_of).fillna("").astype(str).to_numpy()
    keep = (group != "") & sub["value"].notna().to_numpy()
    sub = sub[keep].assign(model=lambda d: d["model"].astype(str),
                           variant=lambda d: d["variant"].astype(str), group=group[keep])
    runs = list(dict.fromkeys(zip(sub["model"], sub["variant"], strict=True)))
    wide = sub.set_index(["user_idx", "model", "variant"])["value"].unstack(["model", "variant"])
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(runs))
    group = pd.Series(sub["group"].to_numpy(), index=sub["user_idx"].to_numpy())
    group = group[~group.index.duplicated()].reindex(wide.index).to_numpy()
    rows = []
    for row in _group_rows(wide, group, labels, n_resamples, seed):
        model, variant = row.pop("run")
        rows.append({"model": model, "variant": variant, "metric": metric, **row})
    cols = ["model", "variant", "metric", "group", "n_users", "mean", "ci_low", "ci_high",
            "relative_gap"]
    return pd.DataFrame(rows, columns=cols).astype({"n_users": np.int64})
