"""Why a user got a recommendation: the played items that contributed most, from any model
whose class ``explains`` (ALS: implicit's ``explain``, Hu et al. 2008 section 5; item-kNN:
neighbour weights; EASE: weights of B; P3alpha, RP3beta, SLIM: weights of W): for one play row
(:func:`explain_row`, a known user or a new listener) or for a seeded sample of users
(:func:`explanations_table`, the workflow's ``explanations.parquet``)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

logger = logging.getLogger(__name__)

ROW_COLUMNS = {"item_idx": "int32", "item": "string", "score": "float32", "contrib_rank": "int16",
               "played_idx": "int32", "played": "string", "plays": "float32",
               "contribution": "float32", "share": "float32"}


class CannotExplain(ValueError):
    """The model's family has no ``explain`` (its class does not declare ``explains``)."""


def explainers() -> list[str]:
    """Registered model families that can explain their recommendations."""
    from tastemap.models.registry import specs

    return sorted(name for name, cls in specs().items() if cls.explains)


def explain_row(model, row: sp.csr_matrix, item_idx: np.ndarray, items: np.ndarray,
                n: int = 5) -> pd.DataFrame:
    """The ``n`` played items that contributed most to ``model``'s score of each item of
    ``item_idx`` for one play row (1 x n_items, as in the matrix the model was fit on).

    ``items`` (n_items,) names by index. Columns: ``item_idx:int32, item:string, score:float32``
    (the model's score of the item, the sum of every played item's contribution),
    ``contrib_rank:int16`` (1 = largest), ``played_idx:int32, played:string, plays:float32``
    (the row's count), ``contribution:float32, share:float32`` (contribution / score).
    ``attrs["scores"]``: item_idx -> score, also for items no played item contributes to.
    Raises :class:`CannotExplain` for a model whose class does not declare ``explains``.
    """
    if not getattr(type(model), "explains", False):
        raise CannotExplain(f"model {model.name} cannot explain its recommendations; families "
                            f"that can: {', '.join(explainers())}")
    row = sp.csr_matrix(row)
    plays = dict(zip(row.indices.tolist(), row.data.tolist()))
    item_idx = np.asarray(item_idx)
    out, scores = [], {}
    for j, (total, contribs) in zip(item_idx.tolist(), model.explain(row, item_idx, n=n)):
        scores[j] = total
        for r, (played, value) in enumerate(contribs, start=1):
            out.append((j, items[j], total, r, played, items[played], plays.get(played, 0.0),
                        value, value / total if total else np.nan))
    frame = (pd.DataFrame(out, columns=list(ROW_COLUMNS)) if out
             else pd.DataFrame({c: [] for c in ROW_COLUMNS}))
    frame = frame.astype(ROW_COLUMNS)
    frame.attrs["scores"] = scores
    return frame


def sample_users(plays: sp.csr_matrix, n_users: int, seed: int) -> np.ndarray:
    """``n_users`` users (sorted) drawn with ``seed`` among those with at least one play."""
    active = np.flatnonzero(np.diff(sp.csr_matrix(plays).indptr) > 0)
    if len(active) <= n_users:
        return active
    return np.sort(np.random.default_rng(seed).choice(active, size=n_users, replace=False))


def explanations_table(
    model, plays: sp.csr_matrix, recommendations: pd.DataFrame, user_idx: np.ndarray,
    items: np.ndarray, n: int = 5,
) -> pd.DataFrame:
    """Top-``n`` contributions of played items to each recommendation of the users ``user_idx``.

    ``model`` explains (see :func:`explain_row`); ``plays`` is the users x items matrix it was
    fit on; ``recommendations`` the fit's recommendations table. Columns:
    ``user_idx:int32, user:string, rank:int16, item_idx:int32, item:string, score:float32``
    (of the recommendations table), ``contrib_rank:int16, played_idx:int32, played:string,
    contribution:float32``.
    """
    plays = sp.csr_matrix(plays)
    recs = recommendations[recommendations["user_idx"].isin(user_idx)].sort_values(["user_idx", "rank"])
    parts = []
    for u, group in recs.groupby("user_idx", sort=True):
        expl = explain_row(model, plays[int(u)], group["item_idx"].to_numpy(), items, n=n)
        parts.append(group[["user_idx", "user", "rank", "item_idx", "item", "score"]].merge(
            expl[["item_idx", "contrib_rank", "played_idx", "played", "contribution"]],
            on="item_idx", sort=False))
    cols = ["user_idx", "user", "rank", "item_idx", "item", "score", "contrib_rank",
            "played_idx", "played", "contribution"]
    types = ["int32", "string", "int16", "int32", "string", "float32", "int16", "int32",
             "string", "float32"]
    frame = (pd.concat(parts, ignore_index=True)[cols] if parts
             else pd.DataFrame({c: [] for c in cols}))
    logger.info("explained %d recommendations of %d users", frame[["user_idx", "rank"]]
                .drop_duplicates().shape[0], recs["user_idx"].nunique())
    return frame.astype(dict(zip(cols, types)))
