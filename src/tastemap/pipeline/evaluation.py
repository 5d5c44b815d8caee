"""The offline evaluation of the workflow's model runs (rules ``evaluate_runs``,
``evaluate_across_seeds``): score every run of one (entity, seed) on one split, rank them with
bootstrap CIs, pick each model's variant on the validation split, compare models with paired
tests, and the leaderboard across seeds.

Orientation: matrices are users x items (CSR, ``train`` and ``test`` of one split, same shape);
per-user tables are long (``entity, seed, model, variant, user_idx, metric, value``, one row per
user and metric, see :func:`tastemap.evaluate.metrics.to_long`); leaderboards have one row per (run,
metric) (:func:`tastemap.evaluate.stats.leaderboard`). The figures of these tables are in
:mod:`tastemap.viz.figures`; nothing here writes files.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.data.matrices import load_matrix
from tastemap.evaluate import bias, metrics, stats
from tastemap.pipeline.fit import load_model

logger = logging.getLogger(__name__)


class Run(NamedTuple):
    """One model run of an (entity, seed): its recommendations and, for the families that
    predict ratings (RMSE), its fitted model file."""

    model: str
    variant: str
    recommendations: str
    model_file: str | None = None


def popularity_extra(train: sp.csr_matrix, ks: Sequence[int], long_tail_share: float
                     ) -> Callable[[np.ndarray, np.ndarray], tuple[dict, dict]]:
    """The ``extra`` metrics of :func:`tastemap.evaluate.metrics.evaluate_recommendations` for
    popularity bias: per user ``arp@k`` and ``tail@k``, per catalogue ``gini@k`` of exposure
    (:mod:`tastemap.evaluate.bias`; popularity = training users per item of ``train``)."""
    n_i, n_users = metrics.item_popularity(train)
    tail = bias.long_tail(n_i, long_tail_share)
    logger.info("long tail: %d of %d items hold at most %.0f%% of the training pairs",
                int(tail.sum()), len(tail), 100 * long_tail_share)

    def extra(items: np.ndarray, users: np.ndarray) -> tuple[dict, dict]:
        return (bias.popularity_metrics(items, n_i, n_users, tail, ks),
                bias.exposure_gini(items, train.shape[1], ks))

    return extra


def score_run(run: Run, train: sp.csr_matrix, test: sp.csr_matrix, ks: Sequence[int],
              keys: dict, module: str | None = None, extra=None,
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-user metrics of one run (long format, one row per user and metric, tagged with
    ``keys``) and its catalogue metrics (one row per metric: ``keys``, metric, value).

    ``train``/``test``: users x items of the split the run was fit on; ``module``: the run's
    family module when it lives outside tastemap (for the RMSE model file); ``extra``: more
    metrics of the same lists, built once per split (:func:`popularity_extra`).
    """
    recs = pd.read_parquet(run.recommendations, columns=["user_idx", "rank", "item_idx"])
    logger.info("%s: %d recommendation rows, train %s nnz %d, test nnz %d", run.recommendations,
                len(recs), train.shape, train.nnz, test.nnz)
    per_user, catalogue = metrics.evaluate_recommendations(
        recs, train, test, list(ks), source=run.recommendations, extra=extra)
    if run.model_file is not None:
        model = load_model(run.model_file, run.model, module)
        users = per_user["user_idx"].to_numpy()
        per_user["rmse"] = metrics.rmse_per_user(model.predict, test, users)
    means = {c: round(float(per_user[c].mean()), 6) for c in per_user.columns[1:]}
    logger.info("evaluated %d test users; means: %s", len(per_user), json.dumps(means))
    logger.info("catalogue: %s", catalogue)
    rows = [{**keys, "metric": m, "value": v} for m, v in catalogue.items()]
    return metrics.to_long(per_user, **keys), pd.DataFrame(rows)


def score_runs(runs: Sequence[Run], train_path: str, test_path: str, ks: Sequence[int],
               entity: str, seed: int, modules: dict[str, str] | None = None,
               long_tail_share: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every run of one (entity, seed) scored on one split (``train_path``/``test_path``: the
    users x items CSR files): the per-user table (long, categorical keys) and the catalogue
    table of all runs, concatenated."""
    train, test = load_matrix(train_path), load_matrix(test_path)
    extra = popularity_extra(train, list(ks), long_tail_share)  # the same for every run
    per_user, catalogue = [], []
    for run in runs:
        keys = dict(entity=entity, seed=int(seed), model=run.model, variant=run.variant)
        long, cat = score_run(run, train, test, ks, keys, (modules or {}).get(run.model), extra)
        per_user.append(long)
        catalogue.append(cat)
    per_user = pd.concat(per_user, ignore_index=True)
    for col in ("entity", "model", "variant", "metric"):
        per_user[col] = per_user[col].astype(str).astype("category")
    return per_user, pd.concat(catalogue, ignore_index=True)


def leaderboard(per_user: pd.DataFrame, catalogue: pd.DataFrame, entity: str, seed: int,
                primary: str, n_bootstrap: int) -> pd.DataFrame:
    """The leaderboard of the runs in ``per_user``/``catalogue`` (from :func:`score_runs`):
    one row per (run, metric) with mean and 95% bootstrap CI, ranked by ``primary``; the first
    columns are ``entity`` and ``seed``."""
    n_runs = len(catalogue.groupby(["model", "variant"]))
    logger.info("%d per-user rows of %d runs", len(per_user), n_runs)
    board = stats.leaderboard(per_user, primary, catalogue, n_resamples=int(n_bootstrap),
                              seed=int(seed))
    board.insert(0, "seed", int(seed))
    board.insert(0, "entity", entity)
    shown = ["rank", "model", "variant", "mean", "ci_low", "ci_high"]
    logger.info("ranking by %s:\n%s", primary,
                board[board["metric"] == primary][shown].to_string(index=False))
    return board


def attach_search(board: pd.DataFrame, records: Mapping[str, Mapping[str, Any]],
                  configured: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
                  ) -> pd.DataFrame:
    """``board`` with two columns after ``variant``: ``search`` (how the run's values were
    chosen: ``N trials`` of its validation search, or ``as configured``) and ``values`` (the
    values the search chose, or the configured ones). ``records``: model -> its chosen.json
    record (searched models); ``configured``: model -> variant -> values (the others)."""
    from tastemap.models.registry import TUNED
    from tastemap.pipeline.search import format_values

    board = board.copy()
    tuned = board["variant"].astype(str) == TUNED
    found = board["model"].astype(str).map(lambda m: records.get(m))
    search = ["as configured"] * len(board)
    values = [""] * len(board)
    configured = configured or {}
    for i, (is_tuned, record) in enumerate(zip(tuned, found, strict=True)):
        if is_tuned and record is not None:
            search[i] = f"{record['trials']} trials"
            values[i] = format_values(record["searched"])
        else:
            model, variant = str(board["model"].iloc[i]), str(board["variant"].iloc[i])
            values[i] = format_values(configured.get(model, {}).get(variant, {}))
    at = board.columns.get_loc("variant") + 1
    board.insert(at, "values", values)
    board.insert(at, "search", search)
    return board


def make_runs(pairs: Sequence[tuple[str, str]], recommendations: Sequence[str],
              model_files: Sequence[str], rmse_models: Collection[str]) -> list[Run]:
    """The :class:`Run` of each (model, variant) in ``pairs``: ``recommendations`` has one file
    per pair, ``model_files`` one per pair whose model is in ``rmse_models``, in order."""
    files = iter(model_files)
    return [Run(model, variant, recs, next(files) if model in rmse_models else None)
            for (model, variant), recs in zip(pairs, recommendations, strict=True)]


def split_leaderboard(runs: Sequence[Run], train_path: str, test_path: str, *,
                      ks: Sequence[int], entity: str, seed: int, primary: str, n_bootstrap: int,
                      modules: dict[str, str] | None = None, long_tail_share: float = 0.2,
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every run of one (entity, seed) scored on one split and ranked: the per-user table
    (:func:`score_runs`) and the leaderboard (:func:`leaderboard`)."""
    per_user, catalogue = score_runs(runs, train_path, test_path, ks, entity, seed, modules,
                                     long_tail_share)
    return per_user, leaderboard(per_user, catalogue, entity, seed, primary, n_bootstrap)


def leaderboard_markdown(board: pd.DataFrame, entity: str, seed: int, primary: str) -> str:
    """The leaderboard of one (entity, seed) as a Markdown page (title, legend, table)."""
    about = ""
    if "search" in board.columns:
        about = ("`search`: how each run's values were chosen - `N trials` of its validation "
                 "search on this data (`values`: the chosen ones), or `as configured` (`values`: "
                 "the config's; the schema's defaults were chosen on the validation splits of "
                 "MovieLens 100K and the simulated default, docs/quality.md).\n\n")
    return (f"# Leaderboard: {entity}, seed {seed}\n\nRanked by {primary}; cells are mean "
            f"[95% bootstrap CI] over {int(board['n_users'].max())} evaluated users.\n\n"
            + about + stats.markdown_table(board, spread="ci"))


def write_split(per_user: pd.DataFrame, board: pd.DataFrame, paths: Sequence[str], entity: str,
                seed: int, primary: str) -> None:
    """One split's per-user table, leaderboard and its Markdown page (``paths``, in that order);
    an empty board (no model with several variants to validate) gets a page that says so."""
    per_user.to_parquet(paths[0], index=False)
    board.to_csv(paths[1], index=False)
    text = (leaderboard_markdown(board, entity, seed, primary) if len(board) else
            f"# Leaderboard: {entity}, seed {seed}\n\nNo model of {entity} has several variants: "
            "each model's one variant is its choice, and no validation fit was made.\n")
    Path(paths[2]).write_text(text, encoding="utf-8")


def select(valid_board: pd.DataFrame, test_board: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Each model's best variant on the validation leaderboard, with its test score
    (:func:`tastemap.evaluate.stats.select_variants`)."""
    valid, test = (b.astype({"model": str, "variant": str}) for b in (valid_board, test_board))
    selected = stats.select_variants(valid, test, primary)
    logger.info("selected on validation:\n%s", selected.to_string(index=False))
    return selected


def significance(per_user: pd.DataFrame, runs: pd.DataFrame | None, entity: str, seed: int,
                 primary: str) -> tuple[pd.DataFrame, list[str]]:
    """Paired Wilcoxon and t-tests of every pair of runs on ``primary``, Holm-corrected
    (one row per pair), and the runs ordered by mean (best first) for the figure.

    ``runs``: the validation-selected (model, variant) table, or None to compare every run.
    """
    if runs is not None:
        logger.info("comparing each model's validation-selected variant: %s",
                    ", ".join(f"{m}/{v}" for m, v in zip(runs["model"], runs["variant"],
                                                         strict=True)))
    values = stats.run_values(per_user, primary, runs)  # users x runs
    logger.info("%d users x %d runs on %s", *values.shape, primary)
    table = stats.pairwise_significance(values)
    table.insert(0, "metric", primary)
    table.insert(0, "seed", int(seed))
    table.insert(0, "entity", entity)
    shown = ["a", "b", "mean_diff", "wilcoxon_p_holm", "t_p_holm"]
    logger.info("pairs:\n%s", table[shown].to_string(index=False))
    return table, values.mean().sort_values(ascending=False).index.tolist()


def across_seeds(board_paths: Sequence[str], entity: str, primary: str) -> pd.DataFrame:
    """The leaderboard of one entity across seeds (one leaderboard csv per seed): mean +- sd
    of each run's per-seed metric means (:func:`tastemap.evaluate.stats.across_seeds`)."""
    boards = [pd.read_csv(path, dtype={"model": str, "variant": str}) for path in board_paths]
    table = stats.across_seeds(pd.concat(boards, ignore_index=True), primary)
    table.insert(0, "entity", entity)
    logger.info("%s, %d seeds; ranking by %s:\n%s", entity, len(boards), primary,
                table[table["metric"] == primary].to_string(index=False))
    return table


def across_seeds_markdown(table: pd.DataFrame, entity: str, seeds: Sequence[int],
                          primary: str) -> str:
    """The across-seeds leaderboard of one entity as a Markdown page."""
    return (f"# Leaderboard: {entity}, seeds {', '.join(map(str, seeds))}\n\n"
            f"Ranked by {primary}; cells are mean ± sd across seeds of the per-seed means "
            "(sd blank with one seed).\n\n" + stats.markdown_table(table, spread="sd"))


def popularity_groups(per_user: pd.DataFrame, train_path: str, runs: pd.DataFrame | None,
                      primary: str, n_bootstrap: int, seed: int) -> pd.DataFrame:
    """``primary`` per mainstreaminess group of the evaluated users (terciles of the mean
    popularity of their training items, :func:`tastemap.evaluate.bias.mainstreaminess`) and the
    gap between the mainstream and the niche third, for ``runs`` (the validation-selected
    ``model, variant`` table; None: every run): :func:`tastemap.evaluate.bias.group_table`, with
    each third's mean ``profile_popularity`` (its users' mainstreaminess) and ``profile_items``
    (training items per user; NaN on the gap rows)."""
    train = load_matrix(train_path)
    n_i, n_users = metrics.item_popularity(train)
    users = np.unique(per_user["user_idx"].to_numpy())
    profile = train[users]
    mainstream = bias.mainstreaminess(profile, n_i, n_users)
    group_of = pd.Series(bias.groups(mainstream), index=users)
    per_user = per_user[per_user["metric"] == primary]  # first: one metric of many
    if runs is not None:
        chosen = pd.MultiIndex.from_frame(runs[["model", "variant"]].astype(str))
        keys = pd.MultiIndex.from_arrays([per_user["model"].astype(str),
                                          per_user["variant"].astype(str)])
        per_user = per_user[keys.isin(chosen)]
    table = bias.group_table(per_user, group_of, primary, n_bootstrap, seed)
    # who the thirds are: their mean popularity and how many training items they have
    about = pd.DataFrame({"group": group_of.to_numpy(), "profile_popularity": mainstream,
                          "profile_items": np.diff(profile.indptr)}).groupby("group").mean()
    table = table.join(about, on="group")
    logger.info("%s by mainstreaminess:\n%s", primary, table.to_string(index=False))
    return table


def popularity_summary(board: pd.DataFrame, runs: pd.DataFrame | None, k: int) -> pd.DataFrame:
    """The popularity-bias rows of a leaderboard (``arp@k``, ``tail@k``, ``gini@k``) of ``runs``
    (None: every run): ``model, variant, metric, mean, ci_low, ci_high``."""
    rows = board[board["metric"].isin([f"arp@{k}", f"tail@{k}", f"gini@{k}"])]
    rows = rows.astype({"model": str, "variant": str})
    if runs is not None:
        rows = rows.merge(runs[["model", "variant"]].astype(str), on=["model", "variant"])
    return rows[["model", "variant", "metric", "mean", "ci_low", "ci_high"]].reset_index(drop=True)
