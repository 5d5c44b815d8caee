"""Confidence intervals and paired significance tests on per-user metric values.

Orientation: per-user values are arrays of shape ``(n_users,)`` or ``(n_users, n_columns)``
(one column per model run and metric); all columns of one call hold the same users in the same
order, so tests are paired.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.stats


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values (family-wise error rate).

    Written by hand because statsmodels (``multipletests(method="holm")``) is not a dependency;
    it is ten lines. With ``p_(1) <= ... <= p_(m)`` sorted ascending, the adjusted value of the
    ``j``-th smallest is ``max_{i <= j} min(1, (m - i + 1) p_(i))``; reject at level ``alpha``
    where the adjusted p <= alpha. NaN p-values stay NaN and do not count in ``m``.

    >>> holm([0.01, 0.04, 0.03]).round(6).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def bootstrap_ci(
    values: np.ndarray, n_resamples: int = 1000, confidence: float = 0.95, seed=0,
    chunk: int = 50,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and percentile bootstrap confidence interval of every column, users resampled.

    Hand-written rather than ``scipy.stats.bootstrap``: scipy resamples each statistic
    separately (a gather of ``n_resamples x n_users`` per column), while here one matrix of
    resample counts ``W`` (``n_resamples x n_users``, built in chunks) serves every column in a
    single BLAS product ``W @ values``; the same users are drawn for every column (paired
    resamples), and NaN values are left out of each column's mean.

    Parameters
    ----------
    values : ``(n_users,)`` or ``(n_users, n_columns)`` float.
    n_resamples : bootstrap resamples (each draws ``n_users`` users with replacement).
    confidence : coverage of the two-sided percentile interval.
    seed : seed of the resampling (an int or a seed sequence; same seed -> same interval).
    chunk : resamples generated at once (memory ``chunk x n_users``).

    Returns
    -------
    mean, low, high : ``(n_columns,)`` (scalars as 0-d arrays for 1-d input).
    """
    one_d = np.ndim(values) == 1
    mean, boot = bootstrap_means(values, n_resamples, seed, chunk)
    if boot is None:
        nan = np.full(len(mean), np.nan)
        return (nan[0], nan[0], nan[0]) if one_d else (nan, nan, nan)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(boot, [alpha, 1.0 - alpha], axis=0)
    if one_d:
        return mean[0], low[0], high[0]
    return mean, low, high


def bootstrap_means(values: np.ndarray, n_resamples: int = 1000, seed=0, chunk: int = 50,
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """The column means of ``values`` (``(n_users,)`` or ``(n_users, n_columns)``, NaN left
    out) and their ``(n_resamples, n_columns)`` bootstrap replicates (users resampled jointly
    across columns; None without users): what :func:`bootstrap_ci` takes quantiles of, and
    what a difference between independent groups is built from."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n, c = x.shape
    valid = ~np.isnan(x)
    x0 = np.where(valid, x, 0.0)
    v = valid.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x0.sum(axis=0) / v.sum(axis=0)
    if n == 0:
        return mean, None
    rng = np.random.default_rng(seed)
    boot = np.empty((n_resamples, c))
    counts = np.empty((min(chunk, n_resamples), n))
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(b, n))
        # one bincount per resample: its n counters stay in cache, where one bincount over the
        # chunk (b x n counters) scattered through memory: 10x slower at a million users
        for i in range(b):
            counts[i] = np.bincount(idx[i], minlength=n)
        counts_b = counts[:b]
        with np.errstate(invalid="ignore", divide="ignore"):
            boot[start : start + b] = (counts_b @ x0) / (counts_b @ v)
    return mean, boot


def paired_tests(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Paired Wilcoxon signed-rank and paired t-test of ``a`` vs ``b`` (same users, same order).

    Users where either value is NaN are dropped. When every difference is zero both tests
    have nothing to test and p = 1.

    Returns
    -------
    ``{"n_users", "mean_a", "mean_b", "mean_diff" (a - b), "wilcoxon_stat", "wilcoxon_p",
    "t_stat", "t_p"}``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in shape: {a.shape} vs {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    d = a - b
    out = {
        "n_users": int(len(d)),
        "mean_a": float(a.mean()) if len(a) else np.nan,
        "mean_b": float(b.mean()) if len(b) else np.nan,
        "mean_diff": float(d.mean()) if len(d) else np.nan,
    }
    if len(d) < 2:
        out.update(wilcoxon_stat=np.nan, wilcoxon_p=np.nan, t_stat=np.nan, t_p=np.nan)
    elif not np.any(d != 0):
        out.update(wilcoxon_stat=np.nan, wilcoxon_p=1.0, t_stat=np.nan, t_p=1.0)
    else:
        w = scipy.stats.wilcoxon(a, b, zero_method="wilcox")
        t = scipy.stats.ttest_rel(a, b)
        # a constant non-zero difference gives t = +-inf and p = 0 (scipy's answer, kept)
        out.update(
            wilcoxon_stat=float(w.statistic), wilcoxon_p=float(w.pvalue),
            t_stat=float(t.statistic), t_p=float(t.pvalue),
        )
    return out


def pairwise_significance(values: pd.DataFrame) -> pd.DataFrame:
    """Every pair of columns of ``values`` (rows = users) tested with ``paired_tests``, with Holm
    correction across all pairs, separately for each test.

    Parameters
    ----------
    values : ``(n_users, n_runs)`` frame, one column per run (e.g. ``"als/f64"``).

    Returns
    -------
    One row per unordered pair ``(a, b)`` in column order: ``a, b, n_users, mean_a, mean_b,
    mean_diff, wilcoxon_stat, wilcoxon_p, wilcoxon_p_holm, t_stat, t_p, t_p_holm``.
    """
    cols = list(values.columns)
    rows = []
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            rows.append({"a": a, "b": b, **paired_tests(values[a].to_numpy(), values[b].to_numpy())})
    table = pd.DataFrame(
        rows, columns=["a", "b", "n_users", "mean_a", "mean_b", "mean_diff", "wilcoxon_stat",
                       "wilcoxon_p", "t_stat", "t_p"],
    )
    table.insert(table.columns.get_loc("wilcoxon_p") + 1, "wilcoxon_p_holm", holm(table["wilcoxon_p"]))
    table["t_p_holm"] = holm(table["t_p"])
    return table


# ---- leaderboards --------------------------------------------------------------------------

RUN_KEYS = ["model", "variant"]


def leaderboard(
    per_user: pd.DataFrame, primary: str, catalogue: pd.DataFrame | None = None,
    n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0,
) -> pd.DataFrame:
    """Mean and bootstrap CI of every metric of every run, runs ranked by ``primary``.

    Parameters
    ----------
    per_user : long table ``model, variant, user_idx, metric, value`` (one row per user, run
        and metric; every run holds the same users).
    primary : metric that ranks the runs (e.g. ``"ndcg@10"``), highest mean first.
    catalogue : optional long table ``model, variant, metric, value`` of catalogue-level
        metrics (coverage); they get a mean and no CI.
    n_resamples, confidence, seed : see ``bootstrap_ci`` (users are resampled jointly across
        runs and metrics).

    Returns
    -------
    ``rank, model, variant, metric, mean, ci_low, ci_high, n_users``, sorted by rank, then by
    the metrics' first appearance in ``per_user``.
    """
    if primary not in set(per_user["metric"]):
        raise ValueError(f"primary metric {primary!r} not among {sorted(set(per_user['metric']))}")
    metric_order = list(dict.fromkeys(per_user["metric"].astype(str)))
    cols, matrix = _user_matrix(per_user, RUN_KEYS + ["metric"])
    mean, low, high = bootstrap_ci(matrix, n_resamples, confidence, seed)
    n_users = (~np.isnan(matrix)).sum(axis=0)
    table = cols.assign(mean=mean, ci_low=low, ci_high=high, n_users=n_users)
    if catalogue is not None and len(catalogue):
        cat = catalogue[["model", "variant", "metric", "value"]].rename(columns={"value": "mean"})
        cat = cat.astype({"model": str, "variant": str, "metric": str})
        table = pd.concat([table, cat.assign(ci_low=np.nan, ci_high=np.nan, n_users=np.nan)],
                          ignore_index=True)
        metric_order += [m for m in dict.fromkeys(cat["metric"]) if m not in metric_order]
    return _rank(table, primary, metric_order)


def _user_matrix(long: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """``(n_users, n_columns)`` float64 matrix of ``value`` from a long table: rows = sorted
    ``user_idx``, one column per observed combination of ``keys`` (first-appearance order);
    missing cells are NaN. Returns the column keys (frame of str) and the matrix."""
    col = long.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
    users, row = np.unique(long["user_idx"].to_numpy(), return_inverse=True)
    n_cols = int(col.max()) + 1 if len(col) else 0
    flat = row.astype(np.int64) * n_cols + col
    if len(np.unique(flat)) != len(flat):
        raise ValueError(f"per-user table has duplicate rows for user_idx x {keys}")
    matrix = np.full(len(users) * n_cols, np.nan)
    matrix[flat] = long["value"].to_numpy(np.float64)
    first = pd.Series(np.arange(len(col))).groupby(col).min().sort_index().to_numpy()
    cols = long.iloc[first][keys].astype(str).reset_index(drop=True)
    return cols, matrix.reshape(len(users), n_cols)


def _rank(table: pd.DataFrame, primary: str, metric_order: list[str]) -> pd.DataFrame:
    score = table[table["metric"] == primary].set_index(RUN_KEYS)["mean"]
    order = score.sort_values(ascending=False, kind="stable")
    ranks = pd.Series(np.arange(1, len(order) + 1), index=order.index, name="rank")
    table = table.join(ranks, on=RUN_KEYS)
    table["metric_pos"] = table["metric"].map({m: i for i, m in enumerate(metric_order)})
    table = table.sort_values(["rank", "metric_pos"], kind="stable").drop(columns="metric_pos")
    cols = ["rank"] + [c for c in table.columns if c != "rank"]
    return table[cols].reset_index(drop=True)


def best_variants(valid: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Each model's variant with the highest mean of ``primary`` on a validation leaderboard
    (ties: the first in the board's order): ``model, variant, n_variants, mean``.

    >>> board = pd.DataFrame({"model": ["als", "als", "ease"], "variant": ["f8", "f64", "l5"],
    ...                       "metric": "ndcg@10", "mean": [0.2, 0.3, 0.1]})
    >>> best_variants(board, "ndcg@10")["variant"].tolist()
    ['f64', 'l5']
    """
    v = valid[valid["metric"] == primary][RUN_KEYS + ["mean"]].reset_index(drop=True)
    rows = [(model, group.loc[group["mean"].idxmax(), "variant"], len(group),
             group["mean"].max()) for model, group in v.groupby("model", sort=False)]
    return pd.DataFrame(rows, columns=["model", "variant", "n_variants", "mean"])


def select_variants(valid: pd.DataFrame, test: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Each model's best variant chosen on the validation leaderboard, with its test score.

    Parameters
    ----------
    valid, test : leaderboards (``leaderboard`` output) of the validation fits (valid train vs
        valid test) and of the train fits (train vs test).
    primary : metric used to choose (highest validation mean wins; ties -> first in config
        order, i.e. first in ``valid``'s run order). A model of ``test`` without validation
        scores (one variant: the workflow makes no validation fit for it) keeps that variant,
        with ``valid_<primary>`` NaN.

    Returns
    -------
    ``model, variant, n_variants, valid_<primary>, test_<primary>, test_ci_low, test_ci_high``,
    sorted by the test score, best first. Test scores never influence the choice.
    """
    best = best_variants(valid, primary)
    t = test[test["metric"] == primary].set_index(RUN_KEYS)
    chosen = list(best.itertuples(index=False, name=None))
    for model, variants in t.reset_index().groupby("model", sort=False)["variant"]:
        if model in set(best["model"]):
            continue
        if len(variants) > 1:
            raise ValueError(f"model {model}: {len(variants)} variants but no validation scores")
        chosen.append((model, variants.iloc[0], 1, float("nan")))
    rows = []
    for model, variant, n_variants, valid_mean in chosen:
        key = (model, variant)
        if key not in t.index:
            raise ValueError(f"model {model} variant {variant}: no test score")
        rows.append({
            "model": model, "variant": variant, "n_variants": n_variants,
            f"valid_{primary}": valid_mean, f"test_{primary}": t.loc[key, "mean"],
            "test_ci_low": t.loc[key, "ci_low"], "test_ci_high": t.loc[key, "ci_high"],
        })
    out = pd.DataFrame(rows)
    return out.sort_values(f"test_{primary}", ascending=False, kind="stable").reset_index(drop=True)


def across_seeds(boards: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Mean +- sd across seeds of every run's metric means.

    Parameters
    ----------
    boards : concatenated per-seed leaderboards with a ``seed`` column.
    primary : metric that ranks runs (by mean across seeds).

    Returns
    -------
    ``rank, model, variant, metric, mean, sd, n_seeds`` (sd with ddof = 1, NaN for one seed).
    """
    metric_order = list(dict.fromkeys(boards["metric"]))
    g = boards.groupby(RUN_KEYS + ["metric"], sort=False)["mean"]
    table = g.agg(mean="mean", sd=lambda s: s.std(ddof=1), n_seeds="count").reset_index()
    return _rank(table, primary, metric_order)


def markdown_table(board: pd.DataFrame, spread: str = "ci", digits: int = 4) -> str:
    """A leaderboard as a Markdown table: one row per run, one column per metric.

    Cells read ``mean [ci_low, ci_high]`` (``spread="ci"``) or ``mean ± sd`` (``spread="sd"``).
    Written by hand: ``DataFrame.to_markdown`` needs the optional ``tabulate`` package.
    """
    def cell(row) -> str:
        if pd.isna(row["mean"]):
            return ""
        m = f"{row['mean']:.{digits}f}"
        if spread == "ci" and pd.notna(row.get("ci_low")):
            return f"{m} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"
        if spread == "sd" and pd.notna(row.get("sd")):
            return f"{m} ± {row['sd']:.{digits}f}"
        return m

    metrics = list(dict.fromkeys(board["metric"]))
    cells = board.assign(cell=board.apply(cell, axis=1))
    wide = cells.pivot_table(index=["rank"] + RUN_KEYS, columns="metric", values="cell",
                             aggfunc="first", sort=False)
    wide = wide.reindex(columns=metrics).sort_index(level="rank")
    # how each run's values were chosen (tastemap.pipeline.evaluation.attach_search), when known
    extra = [c for c in ("search", "values") if c in board.columns]
    about = board.drop_duplicates(RUN_KEYS).set_index(RUN_KEYS)[extra] if extra else None
    header = ["rank", "model", "variant"] + extra + metrics
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (rank, model, variant), row in wide.iterrows():
        known = [] if about is None else [str(v) for v in about.loc[(model, variant)]]
        vals = ([str(rank), str(model), str(variant)] + known
                + ["" if pd.isna(v) else str(v) for v in row])
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def run_values(per_user: pd.DataFrame, metric: str,
               runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-user values of one metric, one column per run: the input of
    ``pairwise_significance``.

    Parameters
    ----------
    per_user : long table ``model, variant, user_idx, metric, value``.
    metric : the metric to test.
    runs : optional ``model, variant`` rows to keep (e.g. the variants chosen on validation);
        columns are then named by model alone. Otherwise every run enters as ``model/variant``.

    Returns
    -------
    ``(n_users, n_runs)`` frame indexed by ``user_idx``; only users present in every run.
    """
    sub = per_user[per_user["metric"] == metric]
    if not len(sub):
        raise ValueError(f"no per-user values of metric {metric!r}")
    sub = sub.assign(model=sub["model"].astype(str), variant=sub["variant"].astype(str))
    if runs is not None:
        keep = runs[["model", "variant"]].astype(str)
        sub = sub.merge(keep, on=["model", "variant"])
        missing = set(map(tuple, keep.to_numpy())) - set(zip(sub["model"], sub["variant"]))
        if missing:
            raise ValueError(f"runs without per-user values: {sorted(missing)}")
        sub = sub.assign(run=sub["model"])
    else:
        sub = sub.assign(run=sub["model"] + "/" + sub["variant"])
    order = list(dict.fromkeys(sub["run"]))
    wide = sub.pivot(index="user_idx", columns="run", values="value")[order]
    return wide.dropna(axis=0, how="any")


def sweep_table(board: pd.DataFrame, grid: dict[str, dict[str, dict]], param: str) -> pd.DataFrame:
    """Leaderboard rows of the runs that show the effect of ``param``, with its value.

    ``grid`` maps model -> variant -> the values of that model's swept keys (``{"als": {"f8":
    {"factors": 8}, ...}}``). A model that sweeps other keys too contributes the variants whose
    other keys sit at the values of its best-ranked variant (the leaderboard's ``rank``), and
    its line is labelled with them: ``als (r0.1)`` reads "ALS at regularization 0.1". Returns
    the rows of those runs with extra columns ``value`` (the value of ``param``) and ``line``.

    >>> board = pd.DataFrame({"rank": [1, 2, 3, 4], "model": "als", "metric": "ndcg@10",
    ...     "variant": ["f8_r1", "f16_r1", "f8_r2", "f16_r2"], "mean": [0.4, 0.3, 0.2, 0.1]})
    >>> grid = {"als": {f"f{f}_r{r}": {"factors": f, "regularization": r}
    ...                 for f in (8, 16) for r in (1, 2)}}
    >>> sweep_table(board, grid, "factors")[["line", "value", "mean"]].values.tolist()
    [['als (regularization 1)', 8, 0.4], ['als (regularization 1)', 16, 0.3]]
    """
    rows = []
    for model, variants in grid.items():
        sub = board[board["model"].astype(str) == model]
        sub = sub[sub["variant"].astype(str).isin(list(variants))].copy()
        if sub.empty:
            raise ValueError(f"model {model}: no variant of the sweep in the leaderboard")
        best = variants[str(sub.loc[sub["rank"].idxmin(), "variant"])]
        fixed = {k: v for k, v in best.items() if k != param}
        keep = [v for v, values in variants.items() if param in values
                and all(values[k] == fixed[k] for k in fixed)]
        sub = sub[sub["variant"].astype(str).isin(keep)]
        sub["value"] = [variants[v][param] for v in sub["variant"].astype(str)]
        label = ", ".join(f"{k} {v}" for k, v in fixed.items())
        sub["line"] = f"{model} ({label})" if label else model
        rows.append(sub)
    if not rows:
        raise ValueError(f"no model sweeps {param}")
    return pd.concat(rows, ignore_index=True)
