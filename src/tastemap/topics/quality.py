"""Choosing the number of topics: held-out perplexity against a popularity baseline, topic
coherence (UMass, NPMI) and, where genres are planted, purity and NMI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import normalized_mutual_info_score

from tastemap.data.matrices import cooccurrence


def log_likelihood(
    theta: np.ndarray, phi: np.ndarray, X: sp.spmatrix, chunk: int = 1_000_000
) -> float:
    """``sum_{u,i} X_ui * log(sum_t theta_ut * phi_ti)`` over the stored entries of ``X``.

    ``theta`` (n_users, k), ``phi`` (k, n_items), ``X`` (n_users, n_items). Entries are scored in
    chunks of ``chunk`` so memory stays at ``chunk x k`` floats.
    """
    X = sp.coo_matrix(X)
    total = 0.0
    for s in range(0, X.nnz, chunk):
        r, c, v = X.row[s:s + chunk], X.col[s:s + chunk], X.data[s:s + chunk]
        p = np.einsum("nk,kn->n", theta[r], phi[:, c])
        total += float(np.dot(v, np.log(p)))
    return total


def heldout_perplexity(theta: np.ndarray, phi: np.ndarray, test: sp.spmatrix) -> float:
    """Document-completion perplexity of held-out items (Wallach et al. 2009).

    ``theta`` must come from the users' *training* items only (``phi`` from a model fit on the
    training matrix); ``test`` (n_users, n_items) holds the held-out items of the same users,
    in the same count transform. Returns ``exp(-sum X log p / sum X)`` with
    ``p_ui = sum_t theta_ut phi_ti``: lower is better; a model that spreads probability evenly
    over ``m`` items scores ``m``.

    >>> theta, phi = np.array([[1.0]]), np.array([[0.25, 0.25, 0.5]])
    >>> heldout_perplexity(theta, phi, sp.csr_matrix([[0, 2.0, 0]]))
    4.0
    """
    total = float(sp.csr_matrix(test).sum())
    if total <= 0:
        raise ValueError("test matrix has no held-out entries")
    return float(np.exp(-log_likelihood(theta, phi, test) / total))


def unigram_perplexity(train: sp.spmatrix, test: sp.spmatrix) -> float:
    """The same perplexity for the one-topic baseline: every user draws items by their share of
    all training counts (add-one smoothed). A topic model worth its k beats this."""
    freq = np.asarray(sp.csr_matrix(train).sum(axis=0), dtype=np.float64).ravel() + 1.0
    phi = (freq / freq.sum())[None, :]
    theta = np.ones((train.shape[0], 1))
    return heldout_perplexity(theta, phi, test)


def _doc_counts(X: sp.spmatrix, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Document (user) frequency of each item in ``items`` and their pairwise co-document counts."""
    co = cooccurrence(sp.csr_matrix(X)[:, items]).toarray()
    return np.diag(co).copy(), co


def umass_coherence(X: sp.spmatrix, top_idx: np.ndarray) -> np.ndarray:
    """UMass coherence of each topic (Mimno et al. 2011), mean over the ranked pairs.

    For a topic's top items ``v_1 .. v_M`` (most probable first) and ``D(.)`` the number of users
    who played an item (``D(a, b)``: both), the score is the mean over ``m > l`` of
    ``log((D(v_m, v_l) + 1) / D(v_l))``. Closer to 0 is more coherent. An item nobody played in
    ``X`` (possible on a training split) counts ``D = 1`` so the score stays finite.

    ``X``: (n_users, n_items) counts (only the pattern is used); ``top_idx``: (k, M). Returns (k,).
    """
    out = np.empty(len(top_idx))
    for t, items in enumerate(np.asarray(top_idx)):
        df, co = _doc_counts(X, items)
        lower, upper = np.tril_indices(len(items), -1)
        out[t] = np.mean(np.log((co[lower, upper] + 1.0) / np.maximum(df[upper], 1.0)))
    return out


def npmi_coherence(X: sp.spmatrix, top_idx: np.ndarray) -> np.ndarray:
    """NPMI coherence of each topic (Bouma 2009; Lau et al. 2014), mean over item pairs.

    With ``N`` users, ``P(a) = D(a) / N`` and ``P(a, b) = D(a, b) / N``:
    ``NPMI(a, b) = log(P(a, b) / (P(a) P(b))) / -log P(a, b)``, in [-1, 1]; pairs never played
    together score -1, pairs always played together (``P(a, b) = 1``) score 1.
    ``X``: (n_users, n_items); ``top_idx``: (k, M). Returns (k,).
    """
    n_docs = X.shape[0]
    out = np.empty(len(top_idx))
    for t, items in enumerate(np.asarray(top_idx)):
        df, co = _doc_counts(X, items)
        a, b = np.triu_indices(len(items), 1)
        pab, pa, pb = co[a, b] / n_docs, df[a] / n_docs, df[b] / n_docs
        vals = np.full(len(a), -1.0)
        both = pab > 0
        full = both & (pab >= 1.0)
        mid = both & ~full
        vals[full] = 1.0
        vals[mid] = np.log(pab[mid] / (pa[mid] * pb[mid])) / -np.log(pab[mid])
        out[t] = vals.mean()
    return out


def topic_purity(top_idx: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Purity of each topic's top items against known labels (e.g. planted genres).

    ``top_idx``: (k, n) item indices; ``labels``: (n_items,) int, -1 where unknown (ignored).
    Returns ``(purity, majority)``, both (k,): the share of a topic's labelled top items that
    carry its most common label, and that label (-1 and purity NaN when none is labelled).

    >>> p, g = topic_purity(np.array([[0, 1, 2], [3, 2, 1]]), np.array([5, 5, 7, 7]))
    >>> np.round(p, 3).tolist(), g.tolist()
    ([0.667, 0.667], [5, 7])
    """
    labels = np.asarray(labels)
    purity = np.full(len(top_idx), np.nan)
    majority = np.full(len(top_idx), -1, dtype=np.int64)
    for t, items in enumerate(np.asarray(top_idx)):
        lab = labels[items]
        lab = lab[lab >= 0]
        if len(lab):
            values, counts = np.unique(lab, return_counts=True)
            best = int(np.argmax(counts))
            purity[t], majority[t] = counts[best] / len(lab), values[best]
    return purity, majority


def nmi(assigned: np.ndarray, labels: np.ndarray) -> float:
    """Normalised mutual information (scikit-learn, arithmetic mean) between dominant topics and
    known labels, over the entries whose label is known (>= 0). NaN when none is."""
    assigned, labels = np.asarray(assigned), np.asarray(labels)
    known = labels >= 0
    if not known.any():
        return float("nan")
    return float(normalized_mutual_info_score(labels[known], assigned[known]))


def planted_labels(truth: pd.DataFrame, kind: str, names: np.ndarray) -> np.ndarray:
    """Planted genre of each name in ``names`` (``kind`` "user" or "artist" rows of the simulator's
    truth table: ``kind, name, genre``), -1 for names the truth does not know."""
    sub = truth.loc[truth["kind"] == kind]
    lookup = pd.Series(sub["genre"].to_numpy(np.int64), index=sub["name"].astype(str))
    lookup = lookup[~lookup.index.duplicated()]
    return lookup.reindex(pd.Index(names).astype(str)).fillna(-1).to_numpy(np.int64)
