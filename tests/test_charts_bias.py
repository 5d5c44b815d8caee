"""Figures of new listeners (likes curve) and of popularity bias, built from small tables."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from tastemap.viz import charts, figures

PLOTS = {"figsize": [10, 8], "dpi": 50, "n_labels": 5}


def _likes(runs=(("als", "default"), ("pop", "f8")), picks=("random", "most played"),
           ns=(1, 2, 4, 8)) -> pd.DataFrame:
    rows = []
    for r, (model, variant) in enumerate(runs):
        for pick in picks:
            for n in ns:
                mean = 0.1 * r + 0.01 * n
                for metric, shift in (("ndcg@10", 0.0), ("recall@10", 0.5)):
                    rows.append({"model": model, "variant": variant, "pick": pick, "n": n,
                                 "n_users": 50, "metric": metric, "mean": mean + shift,
                                 "ci_low": mean + shift - 0.02, "ci_high": mean + shift + 0.02})
    return pd.DataFrame(rows)


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_likes_curve_two_panels_lines_bands_and_legend():
    fig = charts.likes_curve(_likes(), title="Likes curve", metric="ndcg@10")
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 2
        left, right = fig.axes
        assert left.get_title() == "liked: the n most played"  # fixed order, not table order
        assert right.get_title() == "liked: n at random"
        assert fig._suptitle.get_text() == "Likes curve"
        for ax in fig.axes:
            assert len(ax.lines) == 2
            assert len(ax.collections) == 2  # one CI band per run
            assert ax.get_xscale() == "log"
            assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8"]
        assert _legend(right) == ["als", "pop/f8"]  # once, beside the last panel
        assert left.get_legend() is None
        assert left.get_ylabel() == "ndcg@10"
        # only the metric asked for is drawn: als' ndcg@10 is 0.01 n
        np.testing.assert_allclose(left.lines[0].get_ydata(), [0.01, 0.02, 0.04, 0.08])
        assert left.get_shared_y_axes().joined(left, right)
        colors = [to_hex(ax.lines[0].get_color()) for ax in fig.axes]
        assert colors[0] == colors[1] != to_hex(left.lines[1].get_color())
    finally:
        plt.close(fig)


def test_likes_curve_random_pick_only_gives_one_panel():
    fig = charts.likes_curve(_likes(picks=("random",)), title="t", metric="recall@10")
    try:
        assert len(fig.axes) == 1
        assert fig.axes[0].get_title() == "liked: n at random"
        assert fig.axes[0].get_ylabel() == "recall@10"
        np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), 0.5 + 0.01 * np.array(
            [1, 2, 4, 8]))
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", ["Ke$ha & A$AP", "<b>bold</b>", "_hidden", "a_b"])
def test_likes_curve_draws_any_name(name):
    fig = charts.likes_curve(_likes(runs=((name, "default"), ("als", "$x_1$"))), title="t")
    try:
        fig.canvas.draw()  # mathtext would raise or mangle here
        assert _legend(fig.axes[-1]) == [name.replace("$", r"\$"), r"als/\$x_1\$"]
        assert len(fig.axes[0].lines) == 2
    finally:
        plt.close(fig)


def test_likes_curve_wrapper_title_and_dpi():
    fig = figures.likes_curve(_likes(), "artist", 3, "ndcg@10", PLOTS)
    try:
        assert fig._suptitle.get_text() == (
            "Likes curve: artists, seed 3 - ndcg@10 of new listeners by how many items they name")
        assert fig.dpi == 50
        assert tuple(fig.get_size_inches()) == (12, 5)  # the chart's own size
    finally:
        plt.close(fig)


def _grouped(runs=(("als", "default"), ("pop", "default"), ("knn", "k20"))) -> pd.DataFrame:
    rows = []
    for r, (model, variant) in enumerate(runs):
        means = {"niche": 0.1, "diverse": 0.2 + 0.01 * r, "mainstream": 0.3}
        for group, mean in means.items():
            rows.append({"model": model, "variant": variant, "metric": "ndcg@10", "group": group,
                         "n_users": 10, "mean": mean, "ci_low": mean - 0.02,
                         "ci_high": mean + 0.02, "relative_gap": np.nan})
        rows.append({"model": model, "variant": variant, "metric": "ndcg@10", "group": "gap",
                     "n_users": 20, "mean": 0.2, "ci_low": 0.15, "ci_high": 0.25,
                     "relative_gap": 0.2 / 0.3 if r != 1 else -0.38})
    return pd.DataFrame(rows)


def _summary(runs=(("als", "default"), ("pop", "default"), ("knn", "k20")), k=10):
    rows = []
    for r, (model, variant) in enumerate(runs):
        for metric, mean, half in ((f"arp@{k}", 0.1 + 0.1 * r, 0.01),
                                   (f"tail@{k}", 0.5 - 0.1 * r, 0.02),
                                   (f"gini@{k}", 0.5 + 0.1 * r, np.nan)):
            rows.append({"model": model, "variant": variant, "metric": metric, "mean": mean,
                         "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows)


def test_popularity_bias_bars_gaps_and_points():
    fig = charts.popularity_bias(_summary(), _grouped(), title="Popularity bias", k=10)
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 2
        bars, points = fig.axes
        assert fig._suptitle.get_text() == "Popularity bias"
        assert len(bars.patches) == 9  # 3 runs x 3 groups, the gap rows are not bars
        assert _legend(bars) == ["niche", "diverse", "mainstream"]
        assert [t.get_text() for t in bars.texts] == ["+67%", "-38%", "+67%"]
        assert [t.get_text() for t in bars.get_xticklabels()] == ["als", "pop", "knn/k20"]
        assert bars.get_ylabel() == "ndcg@10"
        heights = [p.get_height() for p in bars.patches]
        np.testing.assert_allclose(heights[:3], [0.1, 0.1, 0.1])  # niche bar of every run
        assert _legend(points) == ["als (Gini 0.50)", "pop (Gini 0.60)", "knn/k20 (Gini 0.70)"]
        assert points.get_xlabel() == "average recommendation popularity (share of users)"
        assert points.get_ylabel() == "long-tail share of the top-10"
        xs = [c.lines[0].get_xdata()[0] for c in points.containers]
        ys = [c.lines[0].get_ydata()[0] for c in points.containers]
        np.testing.assert_allclose(xs, [0.1, 0.2, 0.3])
        np.testing.assert_allclose(ys, [0.5, 0.4, 0.3])
    finally:
        plt.close(fig)


def test_popularity_bias_without_gini_or_ci_and_other_k():
    summary = _summary(k=5)
    summary = summary[summary["metric"] != "gini@5"].assign(ci_low=np.nan, ci_high=np.nan)
    fig = charts.popularity_bias(summary, _grouped(), title="t", k=5)
    try:
        assert _legend(fig.axes[1]) == ["als", "pop", "knn/k20"]
        assert fig.axes[1].get_ylabel() == "long-tail share of the top-5"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", ["Ke$ha", "<b>x</b>", "_under"])
def test_popularity_bias_draws_any_name(name):
    runs = ((name, "default"), ("als", "a_$b"))
    fig = charts.popularity_bias(_summary(runs), _grouped(runs), title="t")
    try:
        fig.canvas.draw()
        esc = name.replace("$", r"\$")
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [esc, r"als/a_\$b"]
        assert _legend(fig.axes[1])[0] == f"{esc} (Gini 0.50)"
    finally:
        plt.close(fig)


def test_popularity_bias_wrapper_title_and_dpi():
    fig = figures.popularity_bias(_summary(), _grouped(), "song", 1, 10, PLOTS)
    try:
        text = fig._suptitle.get_text()
        assert text.startswith("Popularity bias: songs, seed 1 - ndcg@10")
        assert "top-10" in text
        assert fig.dpi == 50
        assert len(fig.axes) == 2
    finally:
        plt.close(fig)
