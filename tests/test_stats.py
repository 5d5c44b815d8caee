"""Holm correction, bootstrap CIs, paired tests, leaderboards, selection on validation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from tastemap.evaluate import stats


def test_holm_hand_example():
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> max so far 0.06
    got = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(got, [0.03, 0.06, 0.06, 0.02], atol=1e-15)


def test_holm_caps_at_one_and_skips_nan():
    np.testing.assert_allclose(stats.holm([0.5, 0.6]), [1.0, 1.0])
    got = stats.holm([0.02, np.nan, 0.01])  # m = 2: 0.01 * 2, 0.02 * 1 -> 0.02
    assert np.isnan(got[1])
    np.testing.assert_allclose(got[[0, 2]], [0.02, 0.02], atol=1e-15)
    assert stats.holm([]).shape == (0,)


def test_holm_is_uniformly_at_least_bonferroni_step():
    p = np.random.default_rng(0).random(20) ** 3
    adj = stats.holm(p)
    assert np.all(adj >= p) and np.all(adj <= np.minimum(1, 20 * p) + 1e-15)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)  # monotone in the raw p


def test_bootstrap_matches_explicit_resampling():
    rng = np.random.default_rng(1)
    x = rng.random((57, 3))
    mean, low, high = stats.bootstrap_ci(x, n_resamples=200, seed=5, chunk=200)
    idx = np.random.default_rng(5).integers(0, 57, size=(200, 57))
    boot = x[idx].mean(axis=1)  # (200, 3)
    np.testing.assert_allclose(mean, x.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(low, np.quantile(boot, 0.025, axis=0), atol=1e-12)
    np.testing.assert_allclose(high, np.quantile(boot, 0.975, axis=0), atol=1e-12)
    # the chunk size only bounds memory: same numbers
    again = stats.bootstrap_ci(x, n_resamples=200, seed=5, chunk=7)
    np.testing.assert_allclose(np.array(again), np.array([mean, low, high]), atol=1e-12)


def test_bootstrap_seeded_constant_and_nan():
    x = np.random.default_rng(2).random(300)
    a = stats.bootstrap_ci(x, 500, seed=3)
    b = stats.bootstrap_ci(x, 500, seed=3)
    c = stats.bootstrap_ci(x, 500, seed=4)
    assert a == b and a[1] != c[1]
    assert a[1] < x.mean() < a[2]
    m, lo, hi = stats.bootstrap_ci(np.full(50, 0.25), 100, seed=0)
    assert m == lo == hi == 0.25
    y = x.copy()
    y[::3] = np.nan
    m, lo, hi = stats.bootstrap_ci(y, 300, seed=0)
    assert m == pytest.approx(np.nanmean(y), abs=1e-12) and lo < m < hi


def test_bootstrap_close_to_scipy_percentile():
    x = np.random.default_rng(4).exponential(size=400)
    _, lo, hi = stats.bootstrap_ci(x, 4000, seed=0)
    ref = scipy.stats.bootstrap((x,), np.mean, n_resamples=4000, method="percentile", rng=0)
    assert lo == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert hi == pytest.approx(ref.confidence_interval.high, abs=0.01)


def test_paired_tests_match_scipy_and_edge_cases():
    rng = np.random.default_rng(5)
    a = rng.random(80)
    b = a - 0.05 + 0.1 * rng.random(80)
    got = stats.paired_tests(a, b)
    assert got["wilcoxon_p"] == pytest.approx(scipy.stats.wilcoxon(a, b).pvalue, abs=1e-15)
    assert got["t_p"] == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue, abs=1e-15)
    assert got["mean_diff"] == pytest.approx(np.mean(a - b), abs=1e-15)
    same = stats.paired_tests(a, a)
    assert same["wilcoxon_p"] == 1.0 and same["t_p"] == 1.0
    with_nan = stats.paired_tests(np.r_[a, np.nan], np.r_[b, 1.0])
    assert with_nan["n_users"] == 80 and with_nan["wilcoxon_p"] == got["wilcoxon_p"]


def test_pairwise_significance_holm_across_pairs():
    rng = np.random.default_rng(6)
    base = rng.random(200)
    values = pd.DataFrame({"als": base + 0.2 + 0.05 * rng.standard_normal(200), "pop": base,
                           "knn": base + 0.01 * rng.standard_normal(200)})
    table = stats.pairwise_significance(values)
    assert list(zip(table["a"], table["b"])) == [("als", "pop"), ("als", "knn"), ("pop", "knn")]
    np.testing.assert_allclose(table["wilcoxon_p_holm"], stats.holm(table["wilcoxon_p"]))
    np.testing.assert_allclose(table["t_p_holm"], stats.holm(table["t_p"]))
    first = table.iloc[0]
    assert first["mean_diff"] == pytest.approx(0.2, abs=0.02) and first["wilcoxon_p_holm"] < 1e-10


def _per_user(model, variant, values):
    users = np.arange(len(values))
    return pd.DataFrame({"model": model, "variant": variant, "user_idx": users,
                         "metric": "ndcg@10", "value": values})


def test_leaderboard_ranks_and_means():
    per_user = pd.concat([
        _per_user("pop", "default", [0.0, 0.2, 0.1, 0.1]),
        _per_user("als", "f8", [0.5, 0.3, 0.4, 0.4]),
        _per_user("als", "f16", [0.2, 0.2, 0.2, 0.2]),
    ])
    cat = pd.DataFrame({"model": ["als"], "variant": ["f8"], "metric": ["coverage@10"], "value": [0.3]})
    board = stats.leaderboard(per_user, "ndcg@10", cat, n_resamples=200, seed=0)
    nd = board[board["metric"] == "ndcg@10"]
    assert list(zip(nd["rank"], nd["model"], nd["variant"])) == [(1, "als", "f8"), (2, "als", "f16"),
                                                                  (3, "pop", "default")]
    np.testing.assert_allclose(nd["mean"], [0.4, 0.2, 0.1], atol=1e-12)
    assert nd.iloc[1]["ci_low"] == nd.iloc[1]["ci_high"] == pytest.approx(0.2)
    cov = board[board["metric"] == "coverage@10"].iloc[0]
    assert cov["mean"] == 0.3 and np.isnan(cov["ci_low"]) and cov["rank"] == 1
    md = stats.markdown_table(board)
    assert md.splitlines()[0].startswith("| rank | model | variant | ndcg@10 | coverage@10 |")
    assert "| 1 | als | f8 | 0.4000 [" in md
    with pytest.raises(ValueError, match="primary metric"):
        stats.leaderboard(per_user, "recall@10")


def test_select_variants_never_looks_at_test():
    def board(scores):
        return pd.DataFrame([{"model": m, "variant": v, "metric": "ndcg@10", "mean": s,
                              "ci_low": s - 0.01, "ci_high": s + 0.01} for (m, v), s in scores.items()])

    valid = board({("als", "f8"): 0.30, ("als", "f16"): 0.25, ("pop", "default"): 0.1})
    test = board({("als", "f8"): 0.20, ("als", "f16"): 0.40, ("pop", "default"): 0.12})
    sel = stats.select_variants(valid, test, "ndcg@10")
    assert sel[["model", "variant"]].values.tolist() == [["als", "f8"], ["pop", "default"]]
    assert sel["test_ndcg@10"].tolist() == [0.20, 0.12]
    assert sel["valid_ndcg@10"].tolist() == [0.30, 0.1]
    assert sel["n_variants"].tolist() == [2, 1]


def test_select_variants_keeps_the_one_variant_of_a_model_without_validation_fits():
    """A model with one variant gets no validation fit: it keeps that variant (valid score NaN);
    a model with several variants and no validation scores is an error, not a guess."""
    def board(scores):
        return pd.DataFrame([{"model": m, "variant": v, "metric": "ndcg@10", "mean": s,
                              "ci_low": s - 0.01, "ci_high": s + 0.01} for (m, v), s in scores.items()])

    valid = board({("als", "f8"): 0.30, ("als", "f16"): 0.25})
    test = board({("als", "f8"): 0.20, ("als", "f16"): 0.40, ("pop", "default"): 0.12})
    sel = stats.select_variants(valid, test, "ndcg@10")
    assert sel[["model", "variant", "n_variants"]].values.tolist() == [["als", "f8", 2],
                                                                       ["pop", "default", 1]]
    assert np.isnan(sel["valid_ndcg@10"].iloc[1])
    assert stats.select_variants(valid.iloc[:0], test.iloc[[2]], "ndcg@10")["variant"].tolist() \
        == ["default"]
    with pytest.raises(ValueError, match="als: 2 variants but no validation scores"):
        stats.select_variants(valid.iloc[:0], test, "ndcg@10")


def test_across_seeds_mean_sd():
    boards = pd.DataFrame({
        "seed": [0, 0, 1, 1], "model": ["als", "pop"] * 2, "variant": ["f8", "default"] * 2,
        "metric": "ndcg@10", "mean": [0.3, 0.1, 0.5, 0.1],
    })
    out = stats.across_seeds(boards, "ndcg@10")
    assert out["model"].tolist() == ["als", "pop"]
    np.testing.assert_allclose(out["mean"], [0.4, 0.1])
    np.testing.assert_allclose(out["sd"], [np.std([0.3, 0.5], ddof=1), 0.0], atol=1e-12)
    assert out["n_seeds"].tolist() == [2, 2]
    assert "0.4000 ± 0.1414" in stats.markdown_table(out, spread="sd")


def test_run_values_and_sweep_table():
    per_user = pd.concat([_per_user("als", "f8", [0.1, 0.2]), _per_user("als", "f16", [0.3, 0.4]),
                          _per_user("pop", "default", [0.0, 0.1])])
    every = stats.run_values(per_user, "ndcg@10")
    assert list(every.columns) == ["als/f8", "als/f16", "pop/default"]
    chosen = stats.run_values(per_user, "ndcg@10",
                              pd.DataFrame({"model": ["als", "pop"], "variant": ["f16", "default"]}))
    assert list(chosen.columns) == ["als", "pop"] and chosen["als"].tolist() == [0.3, 0.4]
    board = pd.DataFrame({"rank": [2, 1, 3], "model": ["als", "als", "pop"],
                          "variant": ["f8", "f16", "default"], "metric": "ndcg@10",
                          "mean": [0.1, 0.2, 0.0]})
    sweep = stats.sweep_table(board, {"als": {"f8": {"factors": 8}, "f16": {"factors": 16}}},
                              "factors")
    assert sweep["value"].tolist() == [8, 16] and set(sweep["line"]) == {"als"}
    with pytest.raises(ValueError, match="no variant of the sweep"):
        stats.sweep_table(board, {"als": {"k8": {"neighbours": 8}}}, "neighbours")


def test_sweep_table_of_a_two_key_grid_holds_the_other_key_at_its_best():
    grid = {"als": {f"f{f}_r{r}": {"factors": f, "regularization": r}
                    for f in (8, 16, 32) for r in (0.1, 1.0)}}
    variants = list(grid["als"])
    means = [0.1, 0.2, 0.3, 0.6, 0.5, 0.4]  # f8_r0.1, f8_r1.0, f16_r0.1, f16_r1.0, f32_r0.1, ...
    board = pd.DataFrame({"model": "als", "variant": variants, "metric": "ndcg@10", "mean": means})
    board["rank"] = board["mean"].rank(ascending=False).astype(int)
    by_factors = stats.sweep_table(board, grid, "factors")
    # best run f16_r1.0 (0.6): the factors line is drawn at regularization 1.0
    assert by_factors["variant"].tolist() == ["f8_r1.0", "f16_r1.0", "f32_r1.0"]
    assert set(by_factors["line"]) == {"als (regularization 1.0)"}
    by_reg = stats.sweep_table(board, grid, "regularization")
    assert by_reg["variant"].tolist() == ["f16_r0.1", "f16_r1.0"]
    assert by_reg["value"].tolist() == [0.1, 1.0] and set(by_reg["line"]) == {"als (factors 16)"}


def test_sweep_of_a_string_valued_key_draws_categories():
    from tastemap.viz import charts

    board = pd.DataFrame({"rank": [1, 2], "model": "itemknn", "variant": ["scosine", "sbm25"],
                          "metric": "ndcg@10", "mean": [0.4, 0.3]})
    grid = {"itemknn": {"scosine": {"similarity": "cosine"}, "sbm25": {"similarity": "bm25"}}}
    table = stats.sweep_table(board, grid, "similarity")
    fig = charts.sweep_lines(table, param="similarity", metrics=["ndcg@10"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bm25", "cosine"]
    assert ax.lines[0].get_ydata().tolist() == [0.3, 0.4]
