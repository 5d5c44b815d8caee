"""Every figure of tastemap: one function per kind, each returning a matplotlib ``Figure``.

Conventions: every figure has a title and axis labels; scatter maps label ``n_labels`` randomly
chosen points (seeded) and let adjustText place the labels; figure size and dpi come from the
caller (config ``plots``). Functions never save files: the scripts call ``fig.savefig``.
Names (artists, users) are data: every text made from them goes through :func:`plain`, so that
a ``$`` in a name never starts matplotlib's mathtext. Each stage adds its functions in its own
headed section below.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on workers and in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: adjustText iterations per map. A fixed count keeps the figure the same on a fast and a slow
#: machine (adjustText's own default is a 0.5 s time limit) and is what most of a map job costs:
#: on 1,000 clustered points with 100 labels, 0 / 20 / 40 / 50 / 80 / 200 iterations leave 88 /
#: 17 / 4 / 5 / 4 / 5 overlapping label pairs at 0 / 2.0 / 3.1 / 3.5 / 5.3 / 12.5 CPU-s (the
#: 0.5 s limit: 56 pairs); ``benchmarks/map_labels.py``, docs/benchmarks.md ("Maps"). Those CPU
#: times are adjustText as released; :func:`tastemap.labels.adjust_labels` places the labels
#: the same way in 0.3-0.6 CPU-s at any of these budgets (3,000 points).
LABEL_ITERATIONS = 50


def plain(text) -> str:
    """``text`` drawn as it is: ``$`` escaped, so matplotlib never reads a name as mathtext
    (``"Ke$ha & A$AP"`` would otherwise set "ha & A" in math italics).

    >>> print(plain("Ke$ha & A$AP"))
    Ke\\$ha & A\\$AP
    """
    return str(text).replace("$", r"\$")


# ==== topics (LDA) ============================================================================


def _category_colors(n: int) -> np.ndarray:
    """``n`` distinguishable RGBA colours (tab10 / tab20, a sampled turbo map beyond 20)."""
    if n <= 10:
        return plt.get_cmap("tab10")(np.arange(n))
    if n <= 20:
        return plt.get_cmap("tab20")(np.arange(n))
    return plt.get_cmap("turbo")(np.linspace(0.0, 1.0, n))


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
    # memory in the points it avoids (28 GiB for a 20K-point map); tastemap.labels' bulk test is
    # not, but how the maps look with every point as an obstacle has not been tried
    pick = np.sort(pick)
    adjust_labels(texts, coords[pick, 0], coords[pick, 1], ax, LABEL_ITERATIONS)


def topic_map(
    coords: np.ndarray, topic: np.ndarray, names, *, k: int, title: str, xlabel: str, ylabel: str,
    topic_labels: list[str] | None = None, figsize=(15, 15), dpi: int = 100, n_labels: int = 100,
    seed: int = 0,
) -> Figure:
    """Scatter map of users or items placed by their topic mixtures, coloured by dominant topic.

    ``coords`` (n, 2); ``topic`` (n,) dominant topic in ``0..k-1``; ``names`` (n,) labels of the
    points; ``topic_labels`` (k,) legend text of each topic (e.g. its top artists).
    """
    colors = _category_colors(k)
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


def topic_sweep(table: pd.DataFrame, *, title: str, figsize=(15, 5), dpi: int = 100) -> Figure:
    """Choosing k at a glance: held-out perplexity, coherence and (simulated data) purity/NMI
    against the topic count ``k``.

    ``table``: one row per (k, seed) with ``k, perplexity`` (held-out), optional
    ``unigram_perplexity`` (baseline), ``umass, npmi`` (mean coherence over topics) and optional
    ``purity, nmi_items, nmi_users``. Lines join the means over seeds; dots are single seeds.
    """
    has_truth = "purity" in table.columns and table["purity"].notna().any()
    n_panels = 3 if has_truth else 2
    fig, axes = plt.subplots(1, n_panels, figsize=tuple(figsize), dpi=dpi)
    mean = table.groupby("k", sort=True).mean(numeric_only=True).reset_index()

    def panel(ax, cols: list[tuple[str, str]], ylabel: str, heading: str):
        for col, label in cols:
            if col not in table.columns or table[col].isna().all():
                continue
            line, = ax.plot(mean["k"], mean[col], marker="o", label=label)
            ax.scatter(table["k"], table[col], s=12, color=line.get_color(), alpha=0.5)
        ax.set_xscale("log", base=2)
        ax.set_xticks(mean["k"], [str(v) for v in mean["k"]])
        ax.minorticks_off()
        ax.set_xlabel("number of topics k")
        ax.set_ylabel(ylabel)
        ax.set_title(heading)
        ax.legend(fontsize=8)

    panel(axes[0], [("perplexity", "LDA (held-out items)"),
                    ("unigram_perplexity", "popularity baseline")],
          "held-out perplexity (lower is better)", "Held-out perplexity")
    ax_c = axes[1]
    panel(ax_c, [("npmi", "NPMI")], "mean NPMI of top items (higher is better)", "Topic coherence")
    if "umass" in table.columns:
        ax_u = ax_c.twinx()
        line, = ax_u.plot(mean["k"], mean["umass"], marker="s", color="tab:red", label="UMass")
        ax_u.scatter(table["k"], table["umass"], s=12, color="tab:red", alpha=0.5)
        ax_u.set_ylabel("mean UMass (closer to 0 is better)")
        ax_u.legend(fontsize=8, loc="lower right")
    if has_truth:
        panel(axes[2], [("purity", "purity of top items"), ("nmi_items", "NMI items"),
                        ("nmi_users", "NMI users")], "agreement with planted genres",
              "Planted genres (simulated data)")
        axes[2].set_ylim(0, 1.05)
    fig.suptitle(title)
    fig.tight_layout()
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
        colors = _category_colors(len(values))
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


# ==== evaluate: significance matrix and hyper-parameter sweeps ==============================


def significance_matrix(
    table: pd.DataFrame, runs: list[str], *, metric: str, alpha: float = 0.01,
    p_col: str = "wilcoxon_p_holm", title: str | None = None, dpi: int = 100,
) -> Figure:
    """Heatmap of pairwise paired tests: cell (row A, column B) = corrected p of A vs B.

    Parameters
    ----------
    table : ``stats.pairwise_significance`` output (``a, b, mean_diff`` = a - b, ``p_col``).
    runs : row/column order (e.g. best model first).
    metric : tested metric, for the title and colour-bar label.
    alpha : cells with p >= alpha are drawn white (not significant).

    Colour = sign(mean A - mean B) * -log10(p), capped at 10: red where A scores higher, blue
    where lower; each cell is annotated with p (and '*' when p < alpha).
    """
    n = len(runs)
    pos = {r: i for i, r in enumerate(runs)}
    signed = np.full((n, n), np.nan)
    pvals = np.full((n, n), np.nan)
    for row in table.itertuples(index=False):
        a, b = pos.get(row.a), pos.get(row.b)
        if a is None or b is None:
            continue
        p = float(getattr(row, p_col))
        strength = min(-np.log10(max(p, 1e-300)), 10.0) if p < alpha else 0.0
        sign = np.sign(row.mean_diff)
        signed[a, b], signed[b, a] = sign * strength, -sign * strength
        pvals[a, b] = pvals[b, a] = p
    size = max(4.0, 0.9 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.5, size), dpi=dpi)
    im = ax.imshow(signed, cmap="RdBu_r", vmin=-10, vmax=10)
    for i in range(n):
        for j in range(n):
            if i == j:
                ax.text(j, i, "—", ha="center", va="center", fontsize=8, color="0.5")
            elif np.isfinite(pvals[i, j]):
                p = pvals[i, j]
                text = f"{p:.0e}" if p < 0.001 else f"{p:.3f}"
                ax.text(j, i, text + ("*" if p < alpha else ""), ha="center", va="center",
                        fontsize=7, color="white" if abs(signed[i, j]) > 6 else "black")
    ax.set_xticks(range(n), runs, rotation=45, ha="right")
    ax.set_yticks(range(n), runs)
    ax.set_xlabel("model B")
    ax.set_ylabel("model A")
    ax.set_title(title or f"Paired Wilcoxon, Holm-corrected p ({metric}): A vs B")
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label(f"sign(A - B) x -log10 p   (white: p >= {alpha})")
    fig.tight_layout()
    return fig


def sweep_lines(
    board: pd.DataFrame, *, param: str, metrics: list[str], title: str | None = None,
    dpi: int = 100,
) -> Figure:
    """Metric against a swept hyper-parameter, one line per model, one panel per metric.

    Parameters
    ----------
    board : rows ``value`` (the swept value: numbers, or strings drawn as categories),
        ``metric, mean``, optionally ``line`` (the legend label, default ``model``) and
        ``ci_low, ci_high`` (drawn as error bars).
    param : name of the swept hyper-parameter (x axis).
    metrics : panels, in order.
    """
    n = len(metrics)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n + 1, 4.2), dpi=dpi, squeeze=False)
    board = board.assign(line=board["line"] if "line" in board else board["model"])
    numeric = pd.api.types.is_numeric_dtype(pd.Series(list(board["value"])))
    values = sorted(set(board["value"]), key=lambda v: (not numeric, v if numeric else str(v)))
    if numeric:
        board = board.assign(x=board["value"].astype(float))
    else:  # categories (e.g. similarity: cosine, bm25) at positions 0, 1, ...
        board = board.assign(x=board["value"].map({v: i for i, v in enumerate(values)}))
    log_x = numeric and len(values) > 2 and min(values) > 0 and max(values) / min(values) >= 8
    for ax, metric in zip(axes[0], metrics):
        sub = board[board["metric"] == metric]
        for line, g in sub.groupby("line", sort=False):
            g = g.sort_values("x")
            err = None
            if {"ci_low", "ci_high"} <= set(g.columns) and g["ci_low"].notna().any():
                err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])
            ax.errorbar(g["x"], g["mean"], yerr=err, marker="o", capsize=3, label=line)
        if log_x:
            ax.set_xscale("log", base=2)
            ax.minorticks_off()
        if log_x or not numeric:
            ax.set_xticks(range(len(values)) if not numeric else [float(v) for v in values],
                          [f"{v:g}" if numeric else str(v) for v in values])
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} vs {param}")
        ax.legend(title="model", fontsize=8)
    fig.suptitle(title or f"Sweep of {param} (test split, 95% bootstrap CI)")
    fig.tight_layout()
    return fig


# ==== end of evaluate section ==============================================================


# ==== torch models: training curves and the MF latent-size sweep ===========================


def loss_curves(history: pd.DataFrame, *, title: str, figsize=(12, 5), dpi: int = 100) -> Figure:
    """Training curves of one fit: one panel per metric (loss, rmse, ...), one line per split.

    ``history`` has the columns of ``history.parquet``: ``epoch, split ('train'/'valid'),
    metric, value``. A zero-row history (closed-form model) gives one panel saying so.
    """
    metrics = list(dict.fromkeys(history["metric"])) if len(history) else []
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=tuple(figsize), dpi=dpi,
                             squeeze=False)
    if not metrics:
        ax = axes[0, 0]
        ax.text(0.5, 0.5, "no training curve (closed-form fit)", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_xlabel("epoch")
        ax.set_ylabel("value")
    for ax, metric in zip(axes[0], metrics):
        part = history[history["metric"] == metric]
        for split, style in (("train", "-o"), ("valid", "--s")):
            line = part[part["split"] == split].sort_values("epoch")
            if len(line):
                ax.plot(line["epoch"], line["value"], style, ms=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def factor_sweep(table: pd.DataFrame, *, title: str, metric: str = "rmse", figsize=(8, 5),
                 dpi: int = 100) -> Figure:
    """A metric against the latent size, one line per split (train / valid), best valid marked.

    ``table`` columns: ``factors`` (int), ``split``, ``value`` - e.g. the last-epoch RMSE of
    every MF variant. The x axis is logarithmic (base 2) when the sizes span a factor >= 4.
    """
    fig, ax = plt.subplots(figsize=tuple(figsize), dpi=dpi)
    for split, style in (("train", "-o"), ("valid", "--s")):
        line = table[table["split"] == split].sort_values("factors")
        if len(line):
            ax.plot(line["factors"], line["value"], style, label=f"{split} {metric}")
    valid = table[table["split"] == "valid"]
    if len(valid):
        best = valid.loc[valid["value"].idxmin()]
        ax.scatter([best["factors"]], [best["value"]], s=120, facecolors="none", edgecolors="red",
                   zorder=3, label=f"best valid: {int(best['factors'])} factors")
    sizes = table["factors"].to_numpy()
    if len(sizes) and sizes.min() > 0 and sizes.max() / sizes.min() >= 4:
        ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(set(int(s) for s in sizes)))
    from matplotlib.ticker import ScalarFormatter

    ax.get_xaxis().set_major_formatter(ScalarFormatter())
    ax.set_xlabel("latent factors")
    ax.set_ylabel(f"{metric} (last epoch)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


# ==== end of torch models section ==========================================================


# ==== search section =========================================================================


def search_trials(table: pd.DataFrame, *, metric: str, title: str, figsize=(9, 5),
                  dpi: int = 100) -> Figure:
    """Validation score against trial, one colour per family: every trial a dot, the best so
    far a line, the chosen trial circled.

    ``table`` columns: ``model``, ``trial`` (0-based), ``score``, ``best`` (running best).
    """
    fig, ax = plt.subplots(figsize=tuple(figsize), dpi=dpi)
    colors = _category_colors(max(1, table["model"].nunique()))
    for color, (model, rows) in zip(colors, table.groupby("model", sort=False)):
        rows = rows.sort_values("trial")
        trial = rows["trial"].to_numpy() + 1
        ax.scatter(trial, rows["score"], s=14, color=color, alpha=0.45)
        ax.step(trial, rows["best"], where="post", color=color, label=plain(model))
        chosen = rows.loc[rows["score"].idxmax()]
        ax.scatter([chosen["trial"] + 1], [chosen["score"]], s=90, facecolors="none",
                   edgecolors=[color], linewidths=1.5, zorder=3)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{metric} on the validation split")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=2)
    fig.tight_layout()
    return fig
