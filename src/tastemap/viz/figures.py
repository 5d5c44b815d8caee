"""The workflow's figures, built from the tables its rules write: each function gives a
:mod:`tastemap.viz.maps` or :mod:`tastemap.viz.charts` figure its title, labels and size from
the run's keys (entity, side, method, seed, ...) and the config's ``plots`` section (``figsize``,
``dpi``, ``n_labels``), and returns the ``Figure``; the scripts save it (``fig.savefig``) and
close it.

Map tables have one row per point: ``x, y`` (its 2-D coordinates), ``cluster`` (the best
clustering's label, -1 = noise) and ``name`` (see :func:`tastemap.explore.point_table`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from tastemap.explore.maps import map_title
from tastemap.viz import charts, maps

logger = logging.getLogger(__name__)


def explore_map(table: pd.DataFrame, entity: str, side: str, method: str, seed: int,
                plots: Mapping) -> Figure:
    """The scatter map of one projection (``table``: its clusters table, one row per point),
    coloured by its best clustering, ``plots["n_labels"]`` random points labelled."""
    start = time.perf_counter()
    fig = maps.scatter_map(
        table["x"].to_numpy(), table["y"].to_numpy(), table["cluster"].to_numpy(),
        table["name"].to_numpy(), title=map_title(entity, side, method, int(seed), len(table)),
        xlabel=f"{method} 1", ylabel=f"{method} 2", figsize=plots["figsize"], dpi=plots["dpi"],
        n_labels=plots["n_labels"], seed=int(seed))
    logger.info("map of %d points, %d labels, drawn in %.1f s", len(table), plots["n_labels"],
                time.perf_counter() - start)
    return fig


def placed_users_map(base: pd.DataFrame, placed: pd.DataFrame, entity: str, method: str,
                     seed: int, plots: Mapping) -> Figure:
    """The users map ``base`` (its clusters table) with the ``placed`` users (``user, x, y``,
    one row per new user) drawn on top."""
    title = map_title(entity, "users", method, int(seed), len(base))
    return maps.scatter_map(
        base["x"].to_numpy(), base["y"].to_numpy(), base["cluster"].to_numpy(),
        base["name"].to_numpy(), title=f"{title} + {len(placed)} placed users",
        xlabel=f"{method} 1", ylabel=f"{method} 2", figsize=plots["figsize"], dpi=plots["dpi"],
        n_labels=plots["n_labels"], seed=int(seed),
        extra={"x": placed["x"].to_numpy(), "y": placed["y"].to_numpy(),
               "names": placed["user"].to_numpy(object), "label": "placed users"})


def methods_grid(methods: Sequence[str], tables: Sequence[pd.DataFrame], entity: str, side: str,
                 seed: int, plots: Mapping) -> Figure:
    """Small multiples comparing the projections ``methods`` of one side of one matrix
    (``tables``: each method's clusters table, in the same order)."""
    panels = [{"title": f"{method} ({t['cluster'].max() + 1} clusters)", "x": t["x"], "y": t["y"],
               "clusters": t["cluster"].to_numpy(), "xlabel": f"{method} 1",
               "ylabel": f"{method} 2"} for method, t in zip(methods, tables, strict=True)]
    what = "users" if side == "users" else f"{entity}s"
    logger.info("%s %s: %d panels", entity, side, len(panels))
    return maps.methods_grid(panels, title=f"{what} of the user x {entity} matrix, seed {seed}\n"
                             "colour = best clustering of each map",
                             figsize=plots["figsize"], dpi=plots["dpi"])


def loss_curves(history: pd.DataFrame, run: Sequence[str], seed: int, plots: Mapping) -> Figure:
    """The training curves of one fit (``history``: ``epoch, split, metric, value``, one row
    per epoch and metric) of ``run`` = (entity, model, variant, fit)."""
    entity, model, variant, fit = run
    logger.info("%s/%s/%s %s fit: %d history rows, metrics %s", entity, model, variant, fit,
                len(history), sorted(set(history["metric"])))
    width = plots["figsize"][0]
    return charts.loss_curves(
        history, figsize=(max(8.0, width), max(3.5, width * 0.4)), dpi=plots["dpi"],
        title=f"{model} {variant}, user x {entity} (seed {seed}, {fit} fit): training curves")


def mf_factor_sweep(table: pd.DataFrame, entity: str, seed: int, plots: Mapping) -> Figure:
    """The biased-MF latent-size sweep: ``table`` = last-epoch RMSE per (factors, split)
    (:func:`tastemap.models.mf.last_epoch_metric`)."""
    width = plots["figsize"][0]
    return charts.factor_sweep(
        table, metric="rmse", figsize=(max(6.0, width * 0.6), max(4.0, width * 0.4)),
        dpi=plots["dpi"], title=f"biased MF, user x {entity} (seed {seed}, train fits)\n"
                                "RMSE of log(1 + plays) vs latent size")


def significance(table: pd.DataFrame, order: list[str], entity: str, seed: int, primary: str,
                 alpha: float, dpi: int) -> Figure:
    """The heatmap of the paired tests (``table``: one row per pair of runs, from
    :func:`tastemap.pipeline.evaluation.significance`; ``order``: the runs, best first)."""
    return charts.significance_matrix(
        table, order, metric=primary, alpha=float(alpha), dpi=int(dpi),
        title=f"{entity}, seed {seed}: paired Wilcoxon on {primary}, Holm-corrected p (A vs B)")


def sweep(board: pd.DataFrame, grid: Mapping, param: str, entity: str, seed: int,
          metrics: list[str], primary: str, dpi: int, source: str = "leaderboard") -> Figure:
    """Test metrics against the swept hyper-parameter ``param``, one line per model, from one
    seed's leaderboard ``board`` (one row per run and metric; ``grid``: model -> variant ->
    values, see :func:`tastemap.evaluate.stats.sweep_table`); ``source`` names the board in errors."""
    from tastemap.evaluate import stats  # scipy.stats: 0.55 s to import, needed by this figure only

    table = stats.sweep_table(board, dict(grid), param)
    missing = [m for m in metrics if m not in set(table["metric"])]
    if missing:
        raise ValueError(f"evaluate.sweep_metrics: {missing} not in {source}")
    logger.info("sweep of %s: %s", param, sorted(set(table["line"])))
    return charts.sweep_lines(table, param=param, metrics=metrics, dpi=int(dpi),
                              title=f"{entity}, seed {seed}: sweep of {param} (test, 95% "
                                    f"bootstrap CI; ranked by {primary})")


def topic_sweep(table: pd.DataFrame, entity: str, plots: Mapping) -> Figure:
    """Held-out perplexity, coherence and purity against the number of topics (``table``: one
    row per (k, seed), :func:`tastemap.topics.model.sweep_table`), three panels side by side."""
    width = max(12.0, float(plots["figsize"][0]))  # as wide as a map, never too small to read
    return charts.topic_sweep(table, title=f"Choosing the number of LDA topics (user x {entity})",
                              figsize=(width, width / 3), dpi=int(plots["dpi"]))



def search(table: pd.DataFrame, entity: str, seed: int, metric: str, plots: Mapping) -> Figure:
    """The validation searches of one entity and seed (``table``: the trials of every searched
    family, :func:`tastemap.pipeline.search.summary_table`)."""
    width = plots["figsize"][0]
    return charts.search_trials(
        table, metric=metric, dpi=plots["dpi"],
        figsize=(max(7.0, width * 0.7), max(4.5, width * 0.45)),
        title=f"user x {entity}, seed {seed}: validation search (dots: trials; line: best so far; "
              "circle: chosen)")


def likes_curve(table: pd.DataFrame, entity: str, seed: int, metric: str,
                plots: Mapping) -> Figure:
    """The new-listener metric ``metric`` against how many items the listeners name (``table``:
    one row per run, pick, n and metric, see :func:`tastemap.viz.charts.likes_curve`)."""
    return charts.likes_curve(
        table, metric=metric, dpi=int(plots["dpi"]),
        title=f"Likes curve: {entity}s, seed {seed} - {metric} of new listeners by how many "
              "items they name")


def popularity_bias(summary: pd.DataFrame, grouped: pd.DataFrame, entity: str, seed: int,
                    k: int, plots: Mapping) -> Figure:
    """Popularity bias of every run: ``grouped`` (:func:`tastemap.evaluate.bias.group_table`, a
    metric per user group) and ``summary`` (``arp@k``, ``tail@k``, ``gini@k`` per run)."""
    metric = str(grouped["metric"].iloc[0]) if len(grouped) else "metric"
    return charts.popularity_bias(
        summary, grouped, k=int(k), dpi=int(plots["dpi"]),
        title=f"Popularity bias: {entity}s, seed {seed} - {metric} by how mainstream the "
              f"listeners are, and how popular the top-{k} is")
