"""LDA taste topics: fit, topic tables, held-out perplexity, coherence, purity.

Each user is a document and each artist (or song) a word: the users x items play matrix is the
document-term matrix. Latent Dirichlet allocation (scikit-learn's variational Bayes, batch
learning) finds ``k`` topics, distributions over items, and gives each user a mixture of them.

Notation used in every docstring (orientation is always users x items):

* ``X``      : (n_users, n_items) sparse counts LDA sees (after :func:`transform_counts`)
* ``theta``  : (n_users, k) user-topic distributions, rows sum to 1
* ``phi``    : (k, n_items) topic-item distributions, rows sum to 1
* ``top_idx``: (k, n) the ``n`` most probable items of each topic, most probable first

Coherence (UMass, NPMI) and the held-out perplexity are computed here because scikit-learn has
neither the coherence scores nor a document-completion perplexity (its ``perplexity`` scores the
same words it infers the user mixture from); gensim has coherence but is not a dependency and
works on token lists, not on sparse matrices.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import LatentDirichletAllocation

from tastemap.topics.quality import (
    heldout_perplexity,
    nmi,
    npmi_coherence,
    planted_labels,
    topic_purity,
    umass_coherence,
    unigram_perplexity,
)

logger = logging.getLogger(__name__)

#: How play counts become LDA word counts (see :func:`transform_counts`).
COUNTS = ("raw", "binary", "log")


def transform_counts(plays: sp.spmatrix, counts: str = "log") -> sp.csr_matrix:
    """Play counts (users x items) -> the word counts LDA learns from (float64 CSR, same shape).

    * ``raw``: the play counts as they are;
    * ``binary``: 1 for every played item;
    * ``log``: ``log2(1 + plays)``, so one play counts as one word, 3 plays as 2, 1023 as 10.

    Raw counts are heavy-tailed: one user's 5,000 plays of one artist outweigh everything else
    they listen to, and a few such users make that artist a topic of its own. ``log`` keeps the
    order of a user's favourites while damping the tail.

    >>> plays = sp.csr_matrix(np.array([[1.0, 0, 3], [0, 7, 0]]))
    >>> transform_counts(plays, "log").toarray().tolist()
    [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]
    """
    if counts not in COUNTS:
        raise ValueError(f"counts {counts!r}: use one of {', '.join(COUNTS)}")
    X = sp.csr_matrix(plays, dtype=np.float64, copy=True)
    X.eliminate_zeros()
    if X.nnz and X.data.min() < 0:
        raise ValueError("play counts must be non-negative")
    if counts == "binary":
        X.data[:] = 1.0
    elif counts == "log":
        X.data = np.log2(1.0 + X.data)
    X.sort_indices()
    return X


def restart_seeds(seed: int, n_init: int) -> list[int]:
    """Seeds of the ``n_init`` restarts of :func:`fit_lda`: the first is ``seed`` itself, the
    others drawn from ``numpy.random.SeedSequence(seed)`` (same seed -> same restarts).

    >>> restart_seeds(7, 1)
    [7]
    """
    extra = np.random.SeedSequence(int(seed)).generate_state(max(0, n_init - 1)) % (2**31 - 1)
    return [int(seed)] + [int(s) for s in extra]


def fit_lda(
    X: sp.csr_matrix, k: int, seed: int, *, doc_topic_prior: float | None = None,
    topic_word_prior: float | None = None, max_iter: int = 10, n_init: int = 1,
    mean_change_tol: float = 1e-3,
) -> LatentDirichletAllocation:
    """Fit scikit-learn's batch variational LDA with ``k`` topics on ``X`` (users x items), its
    E-step compiled (:class:`tastemap.topics.estep.CompiledLDA`, same results to rounding).

    Variational EM finds a local optimum that depends on the initialisation: on the default
    simulation with k = the 8 planted genres, 2 of 5 seeds recover every genre and the others
    merge two genres into one topic and split another. So ``n_init`` restarts are fit (seeds from
    :func:`restart_seeds`) and the one with the lowest training perplexity (``bound_``, no labels
    involved) is kept - on that data the lowest perplexity was always a restart that found all
    genres. ``n_jobs=1``: on the sizes we run, joblib's process start-up costs more than it saves.
    Priors default to scikit-learn's ``1 / k``. Deterministic for a given ``seed``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n_init < 1:
        raise ValueError(f"n_init must be >= 1, got {n_init}")
    from tastemap.topics.estep import CompiledLDA

    best = None
    for i, s in enumerate(restart_seeds(seed, n_init)):
        lda = CompiledLDA(
            n_components=int(k), doc_topic_prior=doc_topic_prior,
            topic_word_prior=topic_word_prior, learning_method="batch", max_iter=int(max_iter),
            mean_change_tol=mean_change_tol, n_jobs=1, random_state=s,
        )
        start = time.monotonic()
        lda.fit(X)
        logger.info("LDA k=%d restart %d/%d (seed %d) on %d users x %d items (%d entries): "
                    "%d iterations in %.1f s, training perplexity %.2f", k, i + 1, n_init, s,
                    X.shape[0], X.shape[1], X.nnz, lda.n_iter_, time.monotonic() - start,
                    lda.bound_)
        if best is None or lda.bound_ < best.bound_:
            best = lda
    return best


def topic_item_matrix(lda: LatentDirichletAllocation) -> np.ndarray:
    """``phi``: (k, n_items) p(item | topic), each row sums to 1 (normalised ``components_``)."""
    comp = np.asarray(lda.components_, dtype=np.float64)
    return comp / comp.sum(axis=1, keepdims=True)


def item_topic_matrix(lda: LatentDirichletAllocation) -> np.ndarray:
    """(n_items, k) p(topic | item): the share of an item's (pseudo-)counts each topic explains.

    Columns of ``components_`` normalised; an item nobody played gets the uniform mixture.
    """
    comp = np.asarray(lda.components_, dtype=np.float64)
    return (comp / comp.sum(axis=0, keepdims=True)).T


def top_items(phi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` most probable items of every topic: ``(idx, weight)``, both (k, min(n, n_items)),
    most probable first (ties: lower index first).

    >>> idx, w = top_items(np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]]), 2)
    >>> idx.tolist(), w.tolist()
    ([[1, 2], [0, 2]], [[0.6, 0.3], [0.5, 0.5]])
    """
    idx = np.argsort(-phi, axis=1, kind="stable")[:, :n]
    return idx, np.take_along_axis(phi, idx, axis=1)


# ---- names and tables -------------------------------------------------------------------------


def item_names(
    items: pd.DataFrame, entity: str, n_items: int, source: str = "items table"
) -> np.ndarray:
    """Readable name of every item column, indexed by ``<entity>_idx``.

    Artists: the artist name. Songs: ``"artist - track"``. Raises when the table does not cover
    ``0 .. n_items - 1`` exactly (``source`` names the file in the message).
    """
    col = f"{entity}_idx"
    if col not in items.columns:
        raise ValueError(f"{source}: no column {col!r}")
    table = items.sort_values(col)
    if not np.array_equal(table[col].to_numpy(), np.arange(n_items)):
        raise ValueError(f"{source}: {col} does not run 0..{n_items - 1} like the matrix columns")
    if entity == "artist":
        names = table["artist"].astype(str)
    else:
        names = table["artist"].astype(str) + " - " + table["track"].astype(str)
    return names.to_numpy(dtype=object)


def user_names(users: pd.DataFrame, n_users: int, source: str = "users table") -> np.ndarray:
    """User name of every matrix row, indexed by ``user_idx`` (checked like :func:`item_names`)."""
    table = users.sort_values("user_idx")
    if not np.array_equal(table["user_idx"].to_numpy(), np.arange(n_users)):
        raise ValueError(f"{source}: user_idx does not run 0..{n_users - 1} like the matrix rows")
    return table["user"].astype(str).to_numpy(dtype=object)


def user_topics_table(theta: np.ndarray, names: np.ndarray) -> pd.DataFrame:
    """One row per user: ``user_idx, user, dominant_topic, topic_0 .. topic_{k-1}`` (the
    user's mixture, summing to 1)."""
    df = pd.DataFrame({"user_idx": np.arange(len(theta), dtype=np.int32), "user": names,
                       "dominant_topic": theta.argmax(axis=1).astype(np.int32)})
    topics = pd.DataFrame(theta, columns=[f"topic_{t}" for t in range(theta.shape[1])])
    return pd.concat([df, topics], axis=1)


def topic_items_table(phi: np.ndarray, names: np.ndarray, entity: str) -> pd.DataFrame:
    """Long table of ``phi``: ``topic, <entity>_idx, <entity>, weight`` for every (topic, item),
    each topic's weights summing to 1, most probable first within a topic."""
    k, n = phi.shape
    order = np.argsort(-phi, axis=1, kind="stable")
    return pd.DataFrame({
        "topic": np.repeat(np.arange(k, dtype=np.int32), n),
        f"{entity}_idx": order.ravel().astype(np.int32),
        entity: names[order.ravel()],
        "weight": np.take_along_axis(phi, order, axis=1).ravel(),
    })


def top_items_table(phi: np.ndarray, names: np.ndarray, entity: str, n: int = 15) -> pd.DataFrame:
    """The ``n`` most probable items of each topic: ``topic, rank (1 = top), <entity>_idx,
    <entity>, weight`` (p(item | topic))."""
    idx, w = top_items(phi, n)
    k, m = idx.shape
    return pd.DataFrame({
        "topic": np.repeat(np.arange(k, dtype=np.int32), m),
        "rank": np.tile(np.arange(1, m + 1, dtype=np.int32), k),
        f"{entity}_idx": idx.ravel().astype(np.int32),
        entity: names[idx.ravel()],
        "weight": w.ravel(),
    })


def topic_summary(
    X: sp.spmatrix, theta: np.ndarray, phi: np.ndarray, names: np.ndarray, *, top_n: int = 15,
    coherence_n: int = 10, item_labels: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per topic: ``topic, share`` (its share of all counts in ``X``), ``umass, npmi``
    (coherence of its ``coherence_n`` top items on ``X``), ``label`` (its top 3 item names), and
    with ``item_labels`` also ``purity, majority`` of its ``top_n`` items.

    ``X`` (n_users, n_items) is the matrix the model was fit on, ``theta`` (n_users, k),
    ``phi`` (k, n_items).
    """
    doc_len = np.asarray(sp.csr_matrix(X).sum(axis=1)).ravel()
    share = theta.T @ doc_len
    share = share / share.sum() if share.sum() > 0 else share
    coh_idx, _ = top_items(phi, coherence_n)
    idx, _ = top_items(phi, top_n)
    df = pd.DataFrame({
        "topic": np.arange(len(phi), dtype=np.int32),
        "share": share,
        "umass": umass_coherence(X, coh_idx),
        "npmi": npmi_coherence(X, coh_idx),
        "label": [" | ".join(str(s) for s in names[row[:3]]) for row in idx],
    })
    if item_labels is not None:
        df["purity"], df["majority"] = topic_purity(idx, item_labels)
    return df


# ---- maps ---------------------------------------------------------------------------------------


def topic_coords(
    P: np.ndarray, seed: int, *, n_neighbors: int = 15, min_dist: float = 0.1,
    activity: np.ndarray | None = None, max_points: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """2-D coordinates of points given by their topic mixtures ``P`` (n, k), rows on the
    simplex (``theta`` for users, :func:`item_topic_matrix` for items).

    At most ``max_points`` points are mapped: a seeded uniform sample
    (:func:`tastemap.data.matrices.sample_rows`, the same draw as ``explore.max_points`` takes of the
    same rows), ``None`` = all. Returns ``(rows, coords)``: the mapped row indices (m,), sorted,
    and their coordinates (m, 2) float32.

    k > 2: UMAP with the Hellinger distance (the natural distance between distributions),
    computed as the Euclidean distance between the rows' square roots (the same distance up to
    a factor 1/sqrt(2), so the same neighbours and map; umap-learn's own ``hellinger`` metric
    returns NaN for near-identical rows - at Last.fm-360K size its spectral initialisation then
    failed), ``random_state=seed`` (reproducible, single-threaded). k <= 2: topic space is a line, so
    x = p(topic 1) (0 for k = 1) and y = ``activity`` (e.g. log10 of items played), zeros without.
    """
    from tastemap.data.matrices import sample_rows

    P = np.asarray(P, dtype=np.float64)
    rows = sample_rows(len(P), max_points, int(seed))
    P = P[rows]
    n, k = P.shape
    if k <= 2:
        x = P[:, 1] if k == 2 else np.zeros(n)
        y = np.zeros(n) if activity is None else np.asarray(activity, dtype=np.float64)[rows]
        return rows, np.column_stack([x, y]).astype(np.float32)
    from tastemap.explore.maps import fit_umap, umap_epochs

    root = np.sqrt(np.maximum(P, 0.0) / np.maximum(P.sum(axis=1, keepdims=True), 1e-300))
    return rows, fit_umap(root, metric="euclidean", n_neighbors=max(2, min(n_neighbors, n - 1)),
                          min_dist=min_dist, n_epochs=umap_epochs(n), random_state=int(seed))


# ---- one fit, described -------------------------------------------------------------------------


def describe(
    X: sp.spmatrix, theta: np.ndarray, lda: LatentDirichletAllocation, users: pd.DataFrame,
    items: pd.DataFrame, entity: str, *, truth: pd.DataFrame | None = None, top_n: int = 15,
    coherence_n: int = 10,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Everything a reader needs about one fitted LDA: tables and summary numbers.

    ``X`` (n_users, n_items): the word counts the model was fit on; ``theta`` (n_users, k);
    ``users`` / ``items``: the prepare stage's ``users`` and ``artists`` / ``songs`` tables
    (``user_idx, user`` / ``<entity>_idx, artist[, track]``); ``truth``: the simulator's planted
    genres (``kind, name, genre``), for purity and NMI.

    Returns ``(tables, metrics)``: tables ``user_topics``, ``topic_items``, ``top_items``,
    ``topics`` (see the ``*_table`` functions and :func:`topic_summary`); metrics: sizes,
    mean coherence (``umass``, ``npmi``) and, with ``truth``, ``purity`` (mean over topics of the
    top-``top_n`` purity), ``purity_min``, ``nmi_items`` (dominant topic of each item vs its
    artist's genre) and ``nmi_users`` (dominant topic vs the user's main genre).
    """
    n_users, n_items = X.shape
    phi = topic_item_matrix(lda)
    names = item_names(items, entity, n_items, f"{entity}s table")
    unames = user_names(users, n_users)
    item_labels = user_labels = None
    if truth is not None:
        artist_of_item = names if entity == "artist" else (
            items.sort_values(f"{entity}_idx")["artist"].astype(str).to_numpy(dtype=object))
        item_labels = planted_labels(truth, "artist", artist_of_item)
        user_labels = planted_labels(truth, "user", unames)
    summary = topic_summary(X, theta, phi, names, top_n=top_n, coherence_n=coherence_n,
                            item_labels=item_labels)
    tables = {
        "user_topics": user_topics_table(theta, unames),
        "topic_items": topic_items_table(phi, names, entity),
        "top_items": top_items_table(phi, names, entity, top_n),
        "topics": summary,
    }
    metrics = {
        "entity": entity, "k": int(phi.shape[0]), "n_users": int(n_users), "n_items": int(n_items),
        "n_iter": int(lda.n_iter_), "train_perplexity": float(lda.bound_),
        "umass": float(summary["umass"].mean()), "npmi": float(summary["npmi"].mean()),
    }
    if truth is not None:
        metrics |= {
            "purity": float(summary["purity"].mean()),
            "purity_min": float(summary["purity"].min()),
            "nmi_items": nmi(item_topic_matrix(lda).argmax(axis=1), item_labels),
            "nmi_users": nmi(theta.argmax(axis=1), user_labels),
            "items_without_truth": int((item_labels < 0).sum()),
            "users_without_truth": int((user_labels < 0).sum()),
        }
    return tables, metrics


def heldout_report(
    theta: np.ndarray, phi: np.ndarray, train: sp.spmatrix, test: sp.spmatrix
) -> dict:
    """Held-out perplexity of a model fit on ``train`` (document completion, see
    :func:`heldout_perplexity`) next to the popularity baseline (:func:`unigram_perplexity`).

    ``theta`` (n_users, k) inferred from ``train`` (n_users, n_items), ``phi`` (k, n_items);
    ``train`` and ``test`` in the count transform the model was fit on.
    """
    test = sp.csr_matrix(test)
    return {
        "perplexity": heldout_perplexity(theta, phi, test),
        "unigram_perplexity": unigram_perplexity(train, test),
        "n_test_users": int((np.diff(test.indptr) > 0).sum()),
        "n_test_entries": int(test.nnz),
        "test_weight": float(test.sum()),
    }


def sweep_table(metrics: list[dict], heldout: list[dict]) -> pd.DataFrame:
    """One row per (k, seed): the fit metrics (:func:`describe`) joined with the held-out
    perplexity (:func:`heldout_report`); each dict must carry ``k`` and ``seed``."""
    left = pd.DataFrame(metrics)
    right = pd.DataFrame(heldout)
    for name, df in (("metrics", left), ("heldout", right)):
        if df.empty or not {"k", "seed"} <= set(df.columns):
            raise ValueError(f"sweep_table: {name} rows need 'k' and 'seed'")
    keep = ["k", "seed"] + [c for c in right.columns if c not in left.columns]
    table = left.merge(right[keep], on=["k", "seed"], how="outer", validate="one_to_one")
    return table.sort_values(["k", "seed"]).reset_index(drop=True)
