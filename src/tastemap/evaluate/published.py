"""A run's leaderboard beside a published table (config ``evaluate.published``).

The published table is a CSV with one row per model of the paper: ``model`` (the tastemap family
that stands for it), ``label`` (the paper's name for it) and one column per metric, named as
tastemap names it (``recall@20``, ``map@20``, ...: :mod:`tastemap.evaluate.metrics` says which paper
definitions these are). :func:`side_by_side` puts each published number beside the run's
``default`` variant (the family's configured values: the paper's hyper-parameters when the
config writes them) and its ``tuned`` variant (tastemap's own validation search), with the
difference ``configured - published`` and whether it holds at the published precision.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: the variants put beside the published numbers: the configured values and the search's
CONFIGURED, TUNED = "default", "tuned"
#: columns of the side-by-side table
COLUMNS = ["model", "label", "metric", "published", "configured", "configured_sd", "difference",
           "matches", "tuned", "tuned_sd", "n_seeds"]


def read_published(path: str | Path) -> pd.DataFrame:
    """The published table at ``path``: ``model``, ``label`` and metric columns (numbers).

    Raises ``ValueError`` naming the file (and line) for a missing column, a value that is not
    a number, or a model listed twice.
    """
    path = Path(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("model", "label"):
        if column not in table.columns:
            raise ValueError(f"{path}: no column {column!r} (evaluate.published.table); the "
                             f"header has {list(table.columns)}")
    metrics = [c for c in table.columns if c not in ("model", "label")]
    if not metrics:
        raise ValueError(f"{path}: no metric column besides model and label")
    twice = table["model"][table["model"].duplicated()]
    if len(twice):
        raise ValueError(f"{path}: line {int(twice.index[0]) + 2}: model {twice.iloc[0]!r} is "
                         "listed twice")
    for column in metrics:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{path}: line {row + 2}: {column} = {table[column].iloc[row]!r} is "
                             "not a number")
        table[column] = values
    return table


def decimals(values: Sequence[float]) -> int:
    """The precision a published column is printed at (most digits after the point, up to 6).

    >>> decimals([0.0382, 0.0065, 0.1])
    4
    """
    most = 0
    for value in values:
        text = f"{float(value):.6f}".rstrip("0")
        most = max(most, len(text.split(".")[1]) if "." in text else 0)
    return most


def configured_variant(board: pd.DataFrame, model: str) -> str:
    """The run of ``model`` at its configured values: its one variant that is not ``tuned``
    (``default`` when the config writes a value, or named from a one-value list), else
    ``default``."""
    variants = set(board.loc[board["model"] == model, "variant"].astype(str)) - {TUNED}
    return variants.pop() if len(variants) == 1 else CONFIGURED


def side_by_side(board: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """One row per (published model, metric): :data:`COLUMNS`.

    ``board`` is a leaderboard across seeds (``evaluate/<entity>/leaderboard.csv``: ``model``,
    ``variant``, ``metric``, ``mean``, ``sd``, ``n_seeds``). ``matches`` says whether the
    configured score, rounded to the published precision, equals the published number. A model
    or metric the run does not have gets NaN.

    >>> board = pd.DataFrame({"model": ["ease", "ease"], "variant": ["default", "tuned"],
    ...                       "metric": ["recall@20"] * 2, "mean": [0.09562, 0.1012],
    ...                       "sd": [np.nan, np.nan], "n_seeds": [1, 1]})
    >>> published = pd.DataFrame({"model": ["ease"], "label": ["EASE^R"], "recall@20": [0.0956]})
    >>> row = side_by_side(board, published).iloc[0]
    >>> [round(row[c].item(), 6) for c in ("configured", "difference", "tuned")], row["matches"]
    ([0.09562, 2e-05, 0.1012], np.True_)
    """
    metrics = [c for c in published.columns if c not in ("model", "label")]
    places = {m: decimals(published[m]) for m in metrics}
    scores = board.set_index(["model", "variant", "metric"])
    rows = []
    for _, paper in published.iterrows():
        configured = configured_variant(board, paper["model"])
        for metric in metrics:
            got = {}
            for name, variant in ((CONFIGURED, configured), (TUNED, TUNED)):
                key = (paper["model"], variant, metric)
                found = scores.loc[key] if key in scores.index else None
                got[name] = (np.nan, np.nan, np.nan) if found is None else (
                    float(found["mean"]), float(found["sd"]), float(found["n_seeds"]))
            mean, sd, n = got[CONFIGURED]
            rows.append({
                "model": paper["model"], "label": paper["label"], "metric": metric,
                "published": float(paper[metric]), "configured": mean, "configured_sd": sd,
                "difference": mean - float(paper[metric]),
                "matches": bool(np.isfinite(mean)
                                and round(mean, places[metric]) == round(paper[metric],
                                                                         places[metric])),
                "tuned": got[TUNED][0], "tuned_sd": got[TUNED][1],
                "n_seeds": n if np.isfinite(n) else got[TUNED][2]})
    return pd.DataFrame(rows, columns=COLUMNS)


def plain(text: str) -> str:
    r"""A name from a data file as literal Markdown text (one line; no markup, no HTML).

    >>> print(plain("EASE<sup>R</sup> | *x*"))
    EASE&lt;sup&gt;R&lt;/sup&gt; \| \*x\*
    """
    text = " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;")
    text = text.replace(">", "&gt;")
    for char in "\\`*_[]|#":
        text = text.replace(char, "\\" + char)
    return text


def _cell(value: float, sd: float, places: int) -> str:
    if not np.isfinite(value):
        return "-"
    return f"{value:.{places}f}" + (f" ± {sd:.{places}f}" if np.isfinite(sd) else "")


def markdown(table: pd.DataFrame, source: str) -> str:
    """The side-by-side table as Markdown: one row per (model, cut-off), each metric name
    (``recall``, ``map``) with its four columns: published | configured | difference | tuned."""
    table = table.assign(name=table["metric"].str.split("@").str[0],
                         k=table["metric"].str.split("@").str[1].astype(int))
    names = list(dict.fromkeys(table["name"]))
    places = max(decimals(table["published"]), 4)
    head = ["model", "k"]
    for name in names:
        head += [f"{name} published", f"{name} tastemap (paper's values)", "difference",
                 f"{name} tastemap (own search)"]
    lines = [f"Published: {plain(source)}. `tastemap (paper's values)` is the `default` variant (the "
             "hyper-parameters written in the config); `tastemap (own search)` the `tuned` one. "
             "A difference in **bold** is 0 at the published precision; ± is the sd across "
             "seeds.", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (model, label, k), rows in table.groupby(["model", "label", "k"], sort=False):
        cells = [f"{plain(label)} (`{model}`)", str(k)]
        for name in names:
            row = rows[rows["name"] == name]
            if row.empty:
                cells += ["-"] * 4
                continue
            row = row.iloc[0]
            diff = "-" if not np.isfinite(row["difference"]) else f"{row['difference']:+.{places}f}"
            cells += [f"{row['published']:.{places}f}",
                      _cell(row["configured"], row["configured_sd"], places),
                      f"**{diff}**" if row["matches"] else diff,
                      _cell(row["tuned"], row["tuned_sd"], places)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
