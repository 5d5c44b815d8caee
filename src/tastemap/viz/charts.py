"""Charts of tastemap (sweeps, training curves, significance matrices, search trials): one
function per kind, each returning a matplotlib ``Figure``.

The conventions of every figure: :mod:`tastemap.viz.style`. Each stage adds its functions in its
own headed section below; scatter maps: :mod:`tastemap.viz.maps`.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display on workers and in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tastemap.viz.style import category_colors, plain  # noqa: E402

# ==== topics (LDA) ============================================================================


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
    colors = category_colors(max(1, table["model"].nunique()))
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


# ==== evaluate: new listeners and popularity bias ============================================

#: panel titles of :func:`likes_curve`, in panel order.
LIKES_PICKS = {"most played": "liked: the n most played", "random": "liked: n at random"}


def _run_name(model, variant) -> str:
    """``model``, or ``model/variant`` unless the variant is ``default``; drawable as text."""
    name = str(model) if str(variant) == "default" else f"{model}/{variant}"
    return plain(name)


def _errors(mean, low, high):
    """Error-bar lengths ``[[mean - low], [high - mean]]``, or None without an interval."""
    if pd.isna(low) or pd.isna(high):
        return None
    return [[mean - low], [high - mean]]


def likes_curve(table: pd.DataFrame, *, title: str, metric: str = "ndcg@10", figsize=(12, 5),
                dpi: int = 100) -> Figure:
    """A metric of new listeners against how many items they name, one panel per way of
    picking the named items, one line per run with its bootstrap CI as a band.

    ``table`` columns: ``model, variant, pick`` ("most played" / "random"), ``n`` (liked items
    folded in), ``n_users, metric, mean, ci_low, ci_high``; rows of other metrics are ignored.
    Panels share the y axis; x is log2 with a tick at every ``n``. Names go through ``plain``
    and the legend gets explicit labels (a name starting with ``_`` is kept).
    """
    table = table[table["metric"].astype(str) == metric] if "metric" in table else table
    table = table.assign(run=[_run_name(m, v) for m, v in zip(table["model"], table["variant"])])
    picks = [p for p in LIKES_PICKS if p in set(table["pick"].astype(str))]
    fig, axes = plt.subplots(1, max(1, len(picks)), figsize=tuple(figsize), dpi=dpi,
                             sharey=True, squeeze=False)
    runs = list(dict.fromkeys(table["run"]))
    color = dict(zip(runs, category_colors(max(1, len(runs)))))
    handles: dict[str, object] = {}
    for ax, pick in zip(axes[0], picks):
        part = table[table["pick"].astype(str) == pick]
        for run, g in part.groupby("run", sort=False):
            g = g.sort_values("n")
            line, = ax.plot(g["n"], g["mean"], marker="o", color=color[run])
            ax.fill_between(g["n"], g["ci_low"], g["ci_high"], color=color[run], alpha=0.2,
                            linewidth=0)
            handles.setdefault(run, line)
        ns = sorted(set(part["n"]))
        if ns and min(ns) > 0:
            ax.set_xscale("log", base=2)
            ax.minorticks_off()
        ax.set_xticks(ns, [f"{v:g}" for v in ns])
        ax.set_xlabel("liked items named (n)")
        ax.set_title(LIKES_PICKS[pick])
        ax.grid(alpha=0.3)
    if not picks:
        axes[0, 0].text(0.5, 0.5, "no new-listener results", ha="center", va="center",
                        transform=axes[0, 0].transAxes)
    axes[0, 0].set_ylabel(metric)
    if handles:  # beside the last panel: with 15 families a legend inside hides the lines
        axes[0, -1].legend(list(handles.values()), list(handles), fontsize=8, title="model",
                           loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _group_bars(ax, grouped: pd.DataFrame) -> None:
    """Left panel of :func:`popularity_bias`: one bar per (run, group), relative gaps as text."""
    grouped = grouped.assign(run=[_run_name(m, v)
                                  for m, v in zip(grouped["model"], grouped["variant"])])
    runs = list(dict.fromkeys(grouped["run"]))
    bars = grouped[grouped["group"].astype(str) != "gap"]
    labels = list(dict.fromkeys(bars["group"].astype(str)))
    width = 0.8 / max(1, len(labels))
    x = pd.Series(np.arange(len(runs), dtype=float), index=runs)
    handles = []
    for j, (label, color) in enumerate(zip(labels, category_colors(max(1, len(labels))))):
        g = bars[bars["group"].astype(str) == label]
        err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])
        pos = x[g["run"]].to_numpy() + (j - (len(labels) - 1) / 2) * width
        handles.append(ax.bar(pos, g["mean"].to_numpy(), width, yerr=np.nan_to_num(err),
                              capsize=3, color=color))
    top = bars.assign(top=bars[["mean", "ci_high"]].max(axis=1)).groupby("run")["top"].max()
    for row in grouped[grouped["group"].astype(str) == "gap"].itertuples(index=False):
        if pd.notna(row.relative_gap):
            ax.text(x[row.run], np.nan_to_num(top.get(row.run, 0.0)), f"{row.relative_gap:+.0%}",
                    ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x.to_numpy(), runs, rotation=30, ha="right")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.25 * (high - low))  # room for the gaps and the legend
    metric = str(grouped["metric"].iloc[0]) if len(grouped) else "metric"
    ax.set_ylabel(metric)
    first, last = (labels[0], labels[-1]) if labels else ("first", "last")
    ax.set_title(f"{metric} by user group (95% CI); text: ({plain(last)} - {plain(first)}) / "
                 f"{plain(last)}", fontsize=10)
    if handles:
        ax.legend(handles, [plain(label) for label in labels], fontsize=8, loc="upper left",
                  ncols=len(labels), title="users")


def _arp_tail(ax, summary: pd.DataFrame, k: int) -> None:
    """Right panel of :func:`popularity_bias`: one point per run, ``arp@k`` against ``tail@k``."""
    s = summary.assign(run=[_run_name(m, v) for m, v in zip(summary["model"], summary["variant"])],
                       metric=summary["metric"].astype(str))
    runs = list(dict.fromkeys(s["run"]))
    at = s.set_index(["run", "metric"])
    handles, labels = [], []  # explicit: a label starting with "_" would be dropped otherwise
    for run, color in zip(runs, category_colors(max(1, len(runs)))):
        if (run, f"arp@{k}") not in at.index or (run, f"tail@{k}") not in at.index:
            continue
        a, t = at.loc[(run, f"arp@{k}")], at.loc[(run, f"tail@{k}")]
        g = at["mean"].get((run, f"gini@{k}"), np.nan)
        # labelled in a legend: the points of similar models sit on top of each other
        handles.append(ax.errorbar(
            [a["mean"]], [t["mean"]], xerr=_errors(a["mean"], a["ci_low"], a["ci_high"]),
            yerr=_errors(t["mean"], t["ci_low"], t["ci_high"]), fmt="o", color=color, capsize=3))
        labels.append(run if pd.isna(g) else f"{run} (Gini {g:.2f})")
    if handles:
        ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0)
    ax.set_xlabel("average recommendation popularity (share of users)")
    ax.set_ylabel(f"long-tail share of the top-{k}")
    ax.set_title(f"Popularity of the top-{k} (95% CI)", fontsize=10)
    ax.grid(alpha=0.3)


def popularity_bias(summary: pd.DataFrame, grouped: pd.DataFrame, *, title: str, k: int = 10,
                    figsize=(16, 5.5), dpi: int = 100) -> Figure:
    """Who the recommenders serve, and how popular what they recommend is.

    Left: ``grouped`` (:func:`tastemap.evaluate.bias.group_table`: ``model, variant, metric,
    group, n_users, mean, ci_low, ci_high, relative_gap``) as grouped bars, one bar per user
    group with its CI, each run's relative gap (``group == "gap"`` row) written above it.
    Right: ``summary`` (``model, variant, metric, mean, ci_low, ci_high`` with metrics
    ``arp@k``, ``tail@k`` and optionally ``gini@k``): one point per run, x = ``arp@k``,
    y = ``tail@k``, CIs as error bars, each run and its Gini in the legend beside it.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=tuple(figsize), dpi=dpi)
    _group_bars(left, grouped)
    _arp_tail(right, summary, int(k))
    fig.suptitle(title)
    fig.tight_layout()
    return fig
