"""Scatter maps of tastemap: one function per kind, each returning a matplotlib ``Figure``.

Points placed in 2-D (by topic mixture, by projection of the listening matrix, by latent
factors), coloured by topic, cluster or group; ``n_labels`` randomly chosen points (seeded) are
labelled and the labels moved apart as adjustText does (:mod:`tastemap.viz.labels`). The
conventions of every figure: :mod:`tastemap.viz.style`. Each stage adds its functions in its own
headed section below; other figures: :mod:`tastemap.viz.charts`.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on workers and in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tastemap.viz.style import category_colors, plain  # noqa: E402

#: adjustText iterations per map. A fixed count keeps the figure the same on a fast and a slow
#: machine (adjustText's own default is a 0.5 s time limit) and is what most of a map job costs:
#: on 1,000 clustered points with 100 labels, 0 / 20 / 40 / 50 / 80 / 200 iterations leave 88 /
#: 17 / 4 / 5 / 4 / 5 overlapping label pairs at 0 / 2.0 / 3.1 / 3.5 / 5.3 / 12.5 CPU-s (the
#: 0.5 s limit: 56 pairs); ``benchmarks/map_labels.py``, docs/benchmarks.md ("Maps"). Those CPU
#: times are adjustText as released; :func:`tastemap.viz.labels.adjust_labels` places the labels
#: the same way in 0.3-0.6 CPU-s at any of these budgets (3,000 points).
LABEL_ITERATIONS = 50

#: a map's legend sits outside the axes, right of the map: it never hides points or labels, and
#: matplotlib need not search for the emptiest corner (``loc="best"`` tests every candidate
#: place against every point, label and connector: 0.7 of the 1.8 CPU-s of drawing and writing
#: a 3,000-point topic map; docs/benchmarks.md, "Maps")
LEGEND_OUTSIDE = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _map_axes(figsize, dpi):
    """Figure and axes of a scatter map. The constrained layout makes room for the legend
    outside the axes; the legend and titles go in before the labels are placed, so the axes do
    not move after adjustText has placed them."""
    return plt.subplots(figsize=tuple(figsize), dpi=dpi, layout="constrained")


def _label_points(
    ax, coords: np.ndarray, names, n_labels: int, seed: int, max_chars: int = 30
) -> None:
    """Label ``n_labels`` random points (seeded) and let adjustText move the labels apart."""
    from .labels import adjust_labels

    n = len(coords)
    if n_labels <= 0 or n == 0:
        return
    pick = np.random.default_rng(seed).choice(n, size=min(n_labels, n), replace=False)
    texts = []
    for i in np.sort(pick):
        name = str(names[i])
        name = name if len(name) <= max_chars else name[: max_chars - 1] + "…"
        texts.append(ax.text(coords[i, 0], coords[i, 1], plain(name), fontsize=7))
    # only the labelled points as obstacles: adjustText 1.4.0's own overlap test is quadratic in
    # memory in the points it avoids (28 GiB for a 20K-point map); tastemap.viz.labels' bulk test is
    # not, but how the maps look with every point as an obstacle has not been tried
    pick = np.sort(pick)
    adjust_labels(texts, coords[pick, 0], coords[pick, 1], ax, LABEL_ITERATIONS)


# ==== topics (LDA) ============================================================================


def topic_map(
    coords: np.ndarray, topic: np.ndarray, names, *, k: int, title: str, xlabel: str, ylabel: str,
    topic_labels: list[str] | None = None, figsize=(15, 15), dpi: int = 100, n_labels: int = 100,
    seed: int = 0,
) -> Figure:
    """Scatter map of users or items placed by their topic mixtures, coloured by dominant topic.

    ``coords`` (n, 2); ``topic`` (n,) dominant topic in ``0..k-1``; ``names`` (n,) labels of the
    points; ``topic_labels`` (k,) legend text of each topic (e.g. its top artists).
    """
    colors = category_colors(k)
    fig, ax = _map_axes(figsize, dpi)
    topic = np.asarray(topic)
    for t in range(k):
        sel = topic == t
        if not sel.any():
            continue
        label = f"topic {t}" + (f": {topic_labels[t]}" if topic_labels is not None else "")
        ax.scatter(coords[sel, 0], coords[sel, 1], s=8, color=colors[t], alpha=0.7,
                   label=plain(label[:60]), linewidths=0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(title="dominant topic", fontsize=7, title_fontsize=8, markerscale=2,
              **LEGEND_OUTSIDE)
    _label_points(ax, coords, names, n_labels, seed)
    return fig


# ==== end of topics section ================================================================


# ==== explore: 2-D maps coloured by cluster ================================================

#: at most this many clusters get their own legend entry (the rest share "other")
MAX_LEGEND = 20


def _cluster_colors(clusters: np.ndarray) -> tuple[list, np.ndarray, dict]:
    """Distinct cluster ids (noise -1 last) and an RGBA colour per point (noise light grey)."""
    ids = [c for c in np.unique(clusters) if c >= 0] + ([-1] if (clusters < 0).any() else [])
    cmap = plt.get_cmap("tab20")
    palette = {c: (cmap(i % 20) if c >= 0 else (0.8, 0.8, 0.8, 0.6)) for i, c in enumerate(ids)}
    return ids, np.array([palette[c] for c in clusters]).reshape(-1, 4), palette


def _point_size(n: int) -> float:
    return float(np.clip(20000 / max(n, 1), 1.0, 30.0))


def _draw_clusters(ax, x, y, clusters) -> list:
    """Scatter the points coloured by cluster; returns legend handles (at most MAX_LEGEND)."""
    ids, colors, palette = _cluster_colors(clusters)
    ax.scatter(x, y, c=colors, s=_point_size(len(x)), linewidths=0, rasterized=True)
    handles = [plt.Line2D([], [], marker="o", ls="", color=palette[c],
                          label="noise" if c < 0 else f"cluster {c}")
               for c in ids[:MAX_LEGEND]]
    if len(ids) > MAX_LEGEND:
        handles.append(plt.Line2D([], [], ls="", label=f"... {len(ids) - MAX_LEGEND} more"))
    return handles


def scatter_map(
    x: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    names: np.ndarray,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    figsize: tuple[float, float] = (15, 15),
    dpi: int = 100,
    n_labels: int = 100,
    seed: int = 0,
    label_iterations: int = LABEL_ITERATIONS,
    extra: dict | None = None,
) -> Figure:
    """Scatter map of n points coloured by cluster, ``n_labels`` random points labelled.

    Parameters
    ----------
    x, y : (n,) coordinates.
    clusters : (n,) int cluster per point, -1 = noise (grey).
    names : (n,) label text per point (artist name, "artist - title", user id).
    n_labels : labelled points, drawn without replacement with ``seed``; adjustText moves the
        labels apart in at most ``label_iterations`` iterations (its cost grows with the number
        of labels and of points to avoid, so only the labelled points are passed as obstacles).
    extra : optional overlay ``{"x", "y", "names", "label"}`` (e.g. newly placed users), drawn
        as black stars and always labelled.
    """
    from .labels import adjust_labels

    x, y, clusters = np.asarray(x), np.asarray(y), np.asarray(clusters)
    fig, ax = _map_axes(figsize, dpi)
    handles = _draw_clusters(ax, x, y, clusters)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x), size=min(n_labels, len(x)), replace=False) if n_labels else []
    texts = [ax.text(x[i], y[i], plain(names[i]), fontsize=8) for i in pick]
    lx, ly = list(x[pick]), list(y[pick])
    if extra is not None and len(extra["x"]):
        handles.append(ax.scatter(extra["x"], extra["y"], marker="*", s=250, c="black",
                                  label=extra.get("label", "placed"), zorder=3))
        texts += [ax.text(a, b, plain(t), fontsize=9, fontweight="bold")
                  for a, b, t in zip(extra["x"], extra["y"], extra["names"])]
        lx += list(extra["x"])
        ly += list(extra["y"])
    ax.legend(handles=handles, title="cluster", fontsize="small", **LEGEND_OUTSIDE)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if texts:
        adjust_labels(texts, lx, ly, ax, label_iterations)
    return fig


def methods_grid(
    panels: list[dict],
    *,
    title: str,
    figsize: tuple[float, float] = (15, 15),
    dpi: int = 100,
) -> Figure:
    """Small multiples: one panel per projection method, points coloured by cluster.

    Parameters
    ----------
    panels : one dict per method with ``title``, ``x``, ``y`` ((n,) coordinates), ``clusters``
        ((n,) int, -1 noise) and ``xlabel`` / ``ylabel``.
    figsize : size of the whole figure; panels share the width in one row.
    """
    n = max(len(panels), 1)
    width = float(figsize[0])
    fig, axes = plt.subplots(1, n, figsize=(width, width / n + 1.0), dpi=dpi, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        _draw_clusters(ax, np.asarray(panel["x"]), np.asarray(panel["y"]),
                       np.asarray(panel["clusters"]))
        ax.set_title(panel["title"], fontsize="medium")
        ax.set_xlabel(panel.get("xlabel", "dimension 1"))
        ax.set_ylabel(panel.get("ylabel", "dimension 2"))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# ==== end of explore section ===============================================================


# ==== models: embedding maps of recommenders with factors ===================================


def embedding_map(
    coords: np.ndarray, names, *, title: str, xlabel: str = "UMAP 1", ylabel: str = "UMAP 2",
    figsize=(15, 15), dpi: int = 100, n_labels: int = 100, seed: int = 0,
    groups: np.ndarray | None = None, group_name: str = "group",
) -> Figure:
    """Scatter map of users or items placed by their latent factors (reduced to 2-D).

    ``coords`` (n, 2); ``names`` (n,) point labels (``n_labels`` random ones are drawn, placed
    by adjustText); ``groups`` (n,) optional int colour classes (e.g. planted genre), else one
    colour.
    """
    coords = np.asarray(coords)
    fig, ax = _map_axes(figsize, dpi)
    size = float(np.clip(20000 / max(len(coords), 1), 1.0, 20.0))
    if groups is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=size, color="tab:blue", alpha=0.6, linewidths=0,
                   rasterized=True)
    else:
        groups = np.asarray(groups)
        values = np.unique(groups)
        colors = category_colors(len(values))
        for color, g in zip(colors, values):
            sel = groups == g
            ax.scatter(coords[sel, 0], coords[sel, 1], s=size, color=color, alpha=0.7,
                       linewidths=0, label=f"{group_name} {g}", rasterized=True)
        ax.legend(fontsize=7, markerscale=2, **LEGEND_OUTSIDE)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _label_points(ax, coords, names, n_labels, seed)
    return fig


# ==== end of models section ================================================================
