"""The topics stage of the workflow (rule ``topics_lda``) for one (entity, k, seed): the held-out
score of LDA and the users and items maps by topic mixture.

Orientation: play matrices are users x items (CSR); ``theta`` (n_users, k) and the item
mixtures (n_items, k) have rows summing to 1 (notation of :mod:`tastemap.topics.model`). The
fitted model is :class:`tastemap.models.lda.LDA` (the recommender family, saved as
``model.npz``).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tastemap.data.matrices import load_matrix, sample_rows
from tastemap.models.lda import LDA
from tastemap.topics import model as topics
from tastemap.viz import interactive, maps

logger = logging.getLogger(__name__)


def heldout(train_path: str, test_path: str, entity: str, k: int, seed: int,
            lda: Mapping) -> dict:
    """Fit LDA (``k`` topics, config ``topics.lda`` = ``lda``) on a split's train matrix and
    score the users' held-out test items: document-completion perplexity next to the
    popularity baseline (:func:`tastemap.topics.model.heldout_report`). ``train_path``/``test_path``:
    users x items CSR files of the same shape.

    With ``lda["max_users"]`` the topics are fit on a seeded sample of the users, and only
    those users are scored: the same topics (the sample is drawn from the same seed and row
    count), one E-step over the sample instead of over every user (at MSD size 30,000 instead
    of 1,019,080 users: about 200 s less per job).
    """
    train, test = load_matrix(train_path), load_matrix(test_path)
    if train.shape != test.shape:
        raise ValueError(f"{train_path} is {train.shape} but {test_path} is {test.shape}")
    rows = sample_rows(train.shape[0], lda.get("max_users"), seed)
    if len(rows) < train.shape[0]:
        logger.info("held-out perplexity of the %d sampled users the topics are fit on "
                    "(max_users), of %d", len(rows), train.shape[0])
        train, test = train[rows], test[rows]
    model = LDA(k=k, random_state=seed, **dict(lda)).fit(train)
    report = topics.heldout_report(model.theta_, model.phi_, model.transform(train),
                                   model.transform(test))
    report = {"entity": entity, "k": k, "seed": seed, "counts": lda["counts"],
              "n_iter": int(model.lda_.n_iter_)} | report
    logger.info("held-out: %s", report)
    return report


class Side(NamedTuple):
    """One map of a topic run: ``mix`` (n, k) topic mixtures of its points, their ``names``
    and ``activity`` (n,: items played / listeners), the hover ``kind``, and the truth keys
    (names the planted genres are looked up by; songs take their artist's)."""

    name: str
    mix: np.ndarray
    names: np.ndarray
    activity: np.ndarray
    kind: str
    truth_kind: str
    truth_keys: np.ndarray


def map_sides(model: LDA, plays, user_table: pd.DataFrame, items: pd.DataFrame,
              item_table_path: str, entity: str, k: int) -> list[Side]:
    """The users and items :class:`Side` of a fitted LDA ``model`` (fit on ``plays``, users x
    items; ``user_table``: its user-topic table; ``items``: the artists / songs table)."""
    names = topics.item_names(items, entity, model.n_items, item_table_path)
    theta = user_table[[f"topic_{t}" for t in range(k)]].to_numpy()
    users = user_table["user"].to_numpy(object)
    artists = items.sort_values(f"{entity}_idx")["artist"].to_numpy(object)
    return [
        Side("users", theta, users, np.diff(plays.indptr), "user", "user", users),
        Side(f"{entity}s", topics.item_topic_matrix(model.lda_), names,
             np.bincount(plays.indices, minlength=model.n_items), entity, "artist", artists),
    ]


def draw_maps(sides: Sequence[Side], labels: list[str], entity: str, k: int, seed: int,
              p, paths: Sequence[tuple[str, str]], truth: pd.DataFrame | None) -> None:
    """Write each side's map (UMAP of its topic mixtures, Hellinger, when k > 2), coloured by
    dominant topic, into ``paths`` = one (png, html) per side; ``labels``: the topic labels
    in topic order; ``p``: the rule's params (``umap``, ``max_points``, ``plots``);
    ``truth``: planted genres (simulated data) or None. At most ``p.max_points`` points each
    (a seeded sample)."""
    umap_opts = dict(n_neighbors=int(p.umap["n_neighbors"]), min_dist=float(p.umap["min_dist"]))
    for side, (png, html) in zip(sides, paths, strict=True):
        rows, coords = topics.topic_coords(side.mix, seed, activity=np.log10(1 + side.activity),
                                           max_points=p.max_points, **umap_opts)
        logger.info("map of %d of %d %s in the space of %d topics", len(rows), len(side.mix),
                    side.name, k)
        mix, names, keys = side.mix[rows], side.names[rows], side.truth_keys[rows]
        axes = ("UMAP 1", "UMAP 2") if k > 2 else ("p(topic 1)", "log10(1 + items played)"
                                                   if side.name == "users" else
                                                   "log10(1 + listeners)")
        title = f"{len(rows)} {side.name} in LDA topic space (user x {entity}, k={k}, seed {seed})"
        fig = maps.topic_map(
            coords, mix.argmax(axis=1), names, k=k, topic_labels=labels, title=title,
            xlabel=axes[0], ylabel=axes[1], figsize=p.plots["figsize"], dpi=int(p.plots["dpi"]),
            n_labels=int(p.plots["n_labels"]), seed=seed)
        fig.savefig(png)
        plt.close(fig)
        colourings = [interactive.Colouring(
            "dominant topic", mix.argmax(axis=1),
            legend={t: f"topic {t}: {label}" for t, label in enumerate(labels)})]
        if truth is not None:
            colourings.append(interactive.genre_colouring(keys, truth, side.truth_kind))
        size = interactive.write_map(html, coords[:, 0], coords[:, 1], names, colourings,
                                     title=title, xlabel=axes[0], ylabel=axes[1], kind=side.kind)
        logger.info("wrote %s and %s (%.1f MB)", png, html, size / 1e6)
