"""Why a user got a recommendation: the played items that contributed most (ALS, implicit's
``explain``, Hu et al. 2008 section 5), for a seeded sample of users."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

logger = logging.getLogger(__name__)


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

    ``model`` has ``explain_rows(user_row, item_idx, n)`` (ALS); ``plays`` is the users x items
    matrix it was fit on; ``recommendations`` the fit's recommendations table. Columns:
    ``user_idx:int32, user:string, rank:int16, item_idx:int32, item:string, score:float32,
    contrib_rank:int16, played_idx:int32, played:string, contribution:float32``.
    """
    plays = sp.csr_matrix(plays)
    recs = recommendations[recommendations["user_idx"].isin(user_idx)].sort_values(["user_idx", "rank"])
    out = []
    for u, group in recs.groupby("user_idx", sort=True):
        expl = model.explain_rows(plays[int(u)], group["item_idx"].to_numpy(), n=n)
        for (_, rec), (total, contribs) in zip(group.iterrows(), expl):
            for r, (played, value) in enumerate(contribs, start=1):
                out.append((u, rec["user"], rec["rank"], rec["item_idx"], rec["item"],
                            rec["score"], r, played, items[played], value))
    cols = ["user_idx", "user", "rank", "item_idx", "item", "score", "contrib_rank",
            "played_idx", "played", "contribution"]
    types = ["int32", "string", "int16", "int32", "string", "float32", "int16", "int32",
             "string", "float32"]
    frame = pd.DataFrame(out, columns=cols) if out else pd.DataFrame({c: [] for c in cols})
    logger.info("explained %d recommendations of %d users", frame[["user_idx", "rank"]]
                .drop_duplicates().shape[0], recs["user_idx"].nunique())
    return frame.astype(dict(zip(cols, types)))
