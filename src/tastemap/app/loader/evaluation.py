"""The evaluation stage's outputs of a run: leaderboards, tests, validation choices and searches
(:class:`Evaluation`)."""
from __future__ import annotations

import re

import pandas as pd

from tastemap.app.loader.base import Base, _check_entity, _unknown
from tastemap.core import layout as L


class Evaluation(Base):
    """Leaderboards, significance tests, per-user metrics and the validation searches."""

    # ---- evaluation -------------------------------------------------------------------------
    def leaderboard(self, entity: str = "artist", seed: int | None = None,
                    valid: bool = False) -> pd.DataFrame:
        """Long table, one row per (run, metric), ranked by the primary metric.

        ``seed=None``: across seeds (``mean, sd, n_seeds``); a seed: that seed's test split
        with bootstrap intervals (``mean, ci_low, ci_high, n_users``), or its validation split
        with ``valid=True``.
        """
        _check_entity(entity)
        if seed is None:
            rel = L.path(L.SEEDS_LEADERBOARD, entity=entity)
        else:
            rel = L.path(L.VALID_LEADERBOARD if valid else L.LEADERBOARD, entity=entity, seed=seed)
        return pd.read_csv(self._file(rel, f"the evaluation of {entity} (enabled models)"))

    def best(self, entity: str = "artist", metric: str | None = None) -> pd.DataFrame:
        """Runs of the across-seeds leaderboard, best first on ``metric`` (default: the metric
        the leaderboard is ranked by): ``rank, model, variant, mean, sd, n_seeds``."""
        board = self.leaderboard(entity)
        if metric is None:
            metric = self.primary_metric(entity)
        rows = board[board["metric"] == metric]
        if rows.empty:
            raise _unknown("metric", metric, board["metric"].unique(),
                           self.path / L.path(L.SEEDS_LEADERBOARD, entity=entity))
        return rows.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)

    def primary_metric(self, entity: str = "artist") -> str:
        """The metric the leaderboard is ranked by (``evaluate.primary_metric`` of the run),
        read from ``significance.csv``, else from the leaderboard's markdown heading."""
        for path in sorted(self.path.glob(L.glob(L.SIGNIFICANCE, entity=entity))):
            metric = pd.read_csv(path, usecols=["metric"])["metric"]
            if not metric.empty:
                return str(metric.iloc[0])
        md = self._file(L.path(L.SEEDS_LEADERBOARD_MD, entity=entity), f"the evaluation of {entity}")
        m = re.search(r"Ranked by (\S+?)[;,.]?\s", md.read_text())
        if m is None:
            raise ValueError(f"{md}: no 'Ranked by <metric>' line")
        return m.group(1)

    def significance(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Paired tests of every pair of models (``a, b, mean_diff, wilcoxon_p_holm, ...``)."""
        return pd.read_csv(self._file(L.path(L.SIGNIFICANCE, entity=entity, seed=seed),
                                      f"the evaluation of {entity}"))

    def selected(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Each model's variant chosen on validation and its test score (selected.csv)."""
        return pd.read_csv(self._file(L.path(L.SELECTED, entity=entity, seed=seed),
                                      "split.validation"))

    def search(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Every trial of the validation searches (search.csv): ``model, trial, score, best,
        chosen, values, fit_s, rank_s``."""
        _check_entity(entity)
        return pd.read_csv(self._file(L.path(L.SEARCH_SUMMARY, entity=entity, seed=seed),
                                      "search.enabled and a searched family"))

    def chosen(self, entity: str = "artist", model: str = "als", seed: int = 0) -> dict:
        """What ``model``'s validation search chose (chosen.json): ``params`` (every
        hyper-parameter of the ``tuned`` fits), ``searched``, ``score``, ``trials``, ..."""
        from tastemap.pipeline.search import read_chosen

        _check_entity(entity)
        return read_chosen(self._file(L.path(L.SEARCH_CHOSEN, entity=entity, model=model,
                                             seed=seed), f"a validation search of {model}"))

    def per_user(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """Per-user metrics of every run on the test split, long format:
        ``entity, seed, model, variant, user_idx, metric, value``."""
        return self._parquet(L.path(L.PER_USER, entity=entity, seed=seed),
                             f"the evaluation of {entity}")

    # ---- new listeners (held-out users) -------------------------------------------------------
    def new_users(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """The held-out users' leaderboard (new_users/leaderboard.csv): each family's variant
        chosen on validation users, folded in without refitting; columns as :meth:`leaderboard`."""
        _check_entity(entity)
        return pd.read_csv(self._file(L.path(L.NEW_LEADERBOARD, entity=entity, seed=seed),
                                      "split.held_out_users"))

    def likes_curve(self, entity: str = "artist", seed: int = 0) -> pd.DataFrame:
        """The likes curve (new_users/likes_curve.csv): ``model, variant, pick, n, n_users,
        metric, mean, ci_low, ci_high``."""
        _check_entity(entity)
        return pd.read_csv(self._file(L.path(L.LIKES_CURVE, entity=entity, seed=seed),
                                      "split.held_out_users"), dtype={"model": str, "variant": str})
