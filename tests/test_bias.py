"""Popularity bias: hand-computed long tail, ARP / APLT, Gini, mainstreaminess, user groups."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tastemap.evaluate import bias, metrics

NAN = float("nan")


def _close(a, b) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=0, atol=1e-12, equal_nan=True)


# ---- long tail -------------------------------------------------------------------------------


def test_long_tail_hand_computed():
    # ascending: item 2 (0), 1 (1), 4 (1), 3 (3), 0 (5); cumsum 0, 1, 2, 5, 10 of 10
    n_i = np.array([5, 1, 0, 3, 1])
    assert bias.long_tail(n_i, 0.2).tolist() == [False, True, True, False, True]
    assert bias.long_tail(n_i, 0.1).tolist() == [False, True, True, False, False]
    assert bias.long_tail(n_i, 0.05).tolist() == [False, False, True, False, False]
    assert bias.long_tail(n_i, 0.5).tolist() == [False, True, True, True, True]


def test_long_tail_ties_by_index_and_exact_share():
    assert bias.long_tail(np.array([1, 1, 1, 1]), 0.5).tolist() == [True, True, False, False]
    # 29 / 100 is exactly the share 0.29 (while 0.29 * 100 = 28.999...)
    assert bias.long_tail(np.array([71, 29]), 0.29).tolist() == [False, True]
    assert bias.long_tail(np.zeros(3, dtype=np.int64), 0.2).all()  # nobody played: all tail


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1])
def test_long_tail_rejects_share_outside_0_1(share):
    with pytest.raises(ValueError, match="share"):
        bias.long_tail(np.array([1, 2]), share)


@pytest.mark.parametrize("share", [0.1, 0.2, 0.33, 0.5, 0.8])
def test_long_tail_holds_at_most_share_and_next_item_exceeds(share):
    n_i = np.random.default_rng(3).zipf(1.6, size=300).clip(max=10_000) - 1  # zeros included
    tail = bias.long_tail(n_i, share)
    total = n_i.sum()
    assert n_i[tail].sum() <= share * total
    assert tail[n_i == 0].all()
    head = np.flatnonzero(~tail)
    nxt = head[np.argmin(n_i[head])]  # the least-played head item (lowest index on ties)
    assert n_i[tail].sum() + n_i[nxt] > share * total
    assert n_i[tail].max() <= n_i[head].min()  # the tail is the least-played part


# ---- per-user popularity of the lists --------------------------------------------------------

N_I = np.array([4, 2, 1])  # U = 4 users: p = 1, 0.5, 0.25
TAIL = np.array([False, False, True])


def test_popularity_metrics_hand_computed():
    items = np.array([[0, 1, 2], [2, -1, -1], [-1, -1, -1]])
    m = bias.popularity_metrics(items, N_I, 4, TAIL, [3, 1])
    assert list(m) == ["arp@1", "tail@1", "arp@3", "tail@3"]
    _close(m["arp@1"], [1.0, 0.25, NAN])
    _close(m["tail@1"], [0.0, 1.0, NAN])
    _close(m["arp@3"], [(1 + 0.5 + 0.25) / 3, 0.25, NAN])
    _close(m["tail@3"], [1 / 3, 1.0, NAN])


def test_popularity_metrics_rejects_k_beyond_the_lists():
    with pytest.raises(ValueError, match="exceeds"):
        bias.popularity_metrics(np.array([[0, 1]]), N_I, 4, TAIL, [3])


def _skewed(seed: int = 0, n_users: int = 300, n_items: int = 80) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    prob = 0.6 / np.arange(1, n_items + 1) ** 0.9  # item 0 the most popular
    return sp.csr_matrix((rng.random((n_users, n_items)) < prob).astype(np.float32))


def test_popularity_recommender_more_popular_and_less_tail_than_random():
    train = _skewed()
    n_i, n_users = metrics.item_popularity(train)
    tail = bias.long_tail(n_i, 0.2)
    rng = np.random.default_rng(1)
    k = 10
    popular = np.tile(np.argsort(-n_i, kind="stable")[:k], (n_users, 1))
    random = np.argsort(rng.random((n_users, train.shape[1])), axis=1)[:, :k]
    pop = bias.popularity_metrics(popular, n_i, n_users, tail, [k])
    rnd = bias.popularity_metrics(random, n_i, n_users, tail, [k])
    assert np.nanmean(pop[f"arp@{k}"]) > np.nanmean(rnd[f"arp@{k}"])
    assert np.nanmean(pop[f"tail@{k}"]) < np.nanmean(rnd[f"tail@{k}"])
    assert np.nanmean(pop[f"tail@{k}"]) == 0.0
    gp = bias.exposure_gini(popular, train.shape[1], [k])[f"gini@{k}"]
    gr = bias.exposure_gini(random, train.shape[1], [k])[f"gini@{k}"]
    assert gp > gr


# ---- Gini of exposure ------------------------------------------------------------------------


def test_gini_hand_computed():
    assert bias.gini(np.array([2, 2, 2, 2])) == 0.0
    assert bias.gini(np.array([0, 0, 0, 0, 7])) == pytest.approx(4 / 5)  # (n - 1) / n
    # sorted 1, 2, 3: ((2 - 4) 1 + 0 * 2 + (6 - 4) 3) / (3 * 6) = 4 / 18
    assert bias.gini(np.array([3, 1, 2])) == pytest.approx(4 / 18)
    assert np.isnan(bias.gini(np.zeros(3)))


def test_exposure_gini_hand_computed():
    items = np.array([[0, 1], [0, 2], [-1, -1]])
    g = bias.exposure_gini(items, 4, [2, 1])
    assert list(g) == ["gini@1", "gini@2"]
    assert g["gini@1"] == pytest.approx(3 / 4)  # counts 2, 0, 0, 0: one item takes all
    # counts 2, 1, 1, 0 -> sorted 0, 1, 1, 2: (-3 * 0 - 1 + 1 + 3 * 2) / (4 * 4)
    assert g["gini@2"] == pytest.approx(6 / 16)
    assert bias.exposure_gini(np.array([[0, 1], [2, 3]]), 4, [2]) == {"gini@2": 0.0}


# ---- mainstreaminess and groups --------------------------------------------------------------


def test_mainstreaminess_hand_computed():
    # user 0 plays items 0 (p 1) and 2 (p 0.25) -> 0.625; user 1 nothing (an explicit zero);
    # user 2 item 1 (p 0.5) whatever its play count
    profile = sp.csr_matrix((np.array([9.0, 1.0, 0.0, 40.0]),
                             (np.array([0, 0, 1, 2]), np.array([0, 2, 1, 1]))), shape=(3, 3))
    _close(bias.mainstreaminess(profile, N_I, 4), [0.625, NAN, 0.5])
    with pytest.raises(ValueError, match="items"):
        bias.mainstreaminess(profile, N_I[:2], 4)


def test_groups_by_rank_thirds():
    values = np.array([0.5, 0.1, np.nan, 0.3, 0.2, 0.6, 0.4])
    assert bias.groups(values).tolist() == [
        "mainstream", "niche", "", "diverse", "niche", "mainstream", "diverse"]
    # all tied: rank order = position, still three groups of two
    assert bias.groups(np.ones(6)).tolist() == [
        "niche", "niche", "diverse", "diverse", "mainstream", "mainstream"]
    # 7 values: parts of 3, 2, 2
    assert bias.groups(np.arange(7.0), ("a", "b", "c")).tolist() == list("aaabbcc")
    assert bias.groups(np.array([np.nan])).tolist() == [""]


# ---- group table -----------------------------------------------------------------------------


def _per_user(n_per_group: int = 30):
    rng = np.random.default_rng(5)
    n = 3 * n_per_group
    label = np.repeat(["niche", "diverse", "mainstream"], n_per_group)
    level = np.repeat([0.1, 0.3, 0.6], n_per_group)
    a = level + rng.normal(0, 0.05, n)
    b = level[::-1] + rng.normal(0, 0.05, n)  # run b serves niche users best
    users = np.arange(n) + 100
    frames = []
    for model, values in (("a", a), ("b", b)):
        for metric, v in (("ndcg@10", values), ("recall@10", values * 0)):
            frames.append(pd.DataFrame({"model": model, "variant": "default", "user_idx": users,
                                        "metric": metric, "value": v}))
    # a user without a group (not in group_of) and one with "" are left out
    frames.append(pd.DataFrame({"model": ["a", "a"], "variant": "default", "user_idx": [1, 2],
                                "metric": "ndcg@10", "value": [9.0, 9.0]}))
    per_user = pd.concat(frames, ignore_index=True).astype(
        {"model": "category", "variant": "category", "metric": "category"})
    group_of = pd.Series(np.append(label, ""), index=np.append(users, 2))
    return per_user, group_of, label, a, b


def test_group_table_means_gap_and_cis():
    per_user, group_of, label, a, b = _per_user()
    table = bias.group_table(per_user, group_of, "ndcg@10", 200, 0)
    assert list(table.columns) == ["model", "variant", "metric", "group", "n_users", "mean",
                                   "ci_low", "ci_high", "relative_gap"]
    assert table["model"].tolist() == ["a"] * 4 + ["b"] * 4
    assert table["group"].tolist() == ["niche", "diverse", "mainstream", "gap"] * 2
    assert table["n_users"].tolist() == [30, 30, 30, 60] * 2
    assert (table["metric"] == "ndcg@10").all()
    for run, values in (("a", a), ("b", b)):
        rows = table[table["model"] == run].set_index("group")
        for g in ("niche", "diverse", "mainstream"):
            assert rows.loc[g, "mean"] == pytest.approx(values[label == g].mean())
        gap = values[label == "mainstream"].mean() - values[label == "niche"].mean()
        assert rows.loc["gap", "mean"] == pytest.approx(gap)
        assert rows.loc["gap", "relative_gap"] == pytest.approx(
            gap / values[label == "mainstream"].mean())
        assert rows.drop(index="gap")["relative_gap"].isna().all()
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    gaps = table[table["group"] == "gap"].set_index("model")
    assert gaps.loc["a", "mean"] > 0 and gaps.loc["a", "ci_low"] > 0  # mainstream favoured
    assert gaps.loc["b", "mean"] < 0 and gaps.loc["b", "ci_high"] < 0


def test_group_table_is_deterministic_and_seeded():
    per_user, group_of, *_ = _per_user()
    one = bias.group_table(per_user, group_of, "ndcg@10", 100, 7)
    two = bias.group_table(per_user, group_of, "ndcg@10", 100, 7)
    pd.testing.assert_frame_equal(one, two)
    other = bias.group_table(per_user, group_of, "ndcg@10", 100, 8)
    assert not np.array_equal(one["ci_low"].to_numpy(), other["ci_low"].to_numpy())
    _close(one["mean"], other["mean"])


def test_group_table_hand_computed_two_users_per_group():
    per_user = pd.DataFrame({"model": "m", "variant": "v", "user_idx": np.arange(6),
                             "metric": "hitrate@5", "value": [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]})
    group_of = pd.Series(["niche", "niche", "diverse", "diverse", "mainstream", "mainstream"])
    table = bias.group_table(per_user, group_of, "hitrate@5", 500, 0).set_index("group")
    _close(table["mean"], [0.5, 1.0, 1.0, 0.5])
    _close(table.loc["diverse", ["ci_low", "ci_high"]], [1.0, 1.0])  # no spread, no interval
    _close(table.loc["niche", ["ci_low", "ci_high"]], [0.0, 1.0])
    _close(table.loc["gap", ["ci_low", "ci_high", "relative_gap"]], [0.0, 1.0, 0.5])


def test_group_table_rejects_unknown_metric():
    per_user, group_of, *_ = _per_user(3)
    with pytest.raises(ValueError, match="ndcg@20"):
        bias.group_table(per_user, group_of, "ndcg@20", 10, 0)


def test_pipeline_from_matrix_to_groups_is_deterministic():
    train = _skewed(2, n_users=60, n_items=30)
    n_i, n_users = metrics.item_popularity(train)
    first = bias.groups(bias.mainstreaminess(train, n_i, n_users))
    second = bias.groups(bias.mainstreaminess(train, n_i, n_users))
    assert first.tolist() == second.tolist()
    assert sorted(set(first) - {""}) == ["diverse", "mainstream", "niche"]
