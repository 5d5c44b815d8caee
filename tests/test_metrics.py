"""Ranking metrics: hand-computed values on a small case, ranx on a random case."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tastemap.evaluate import metrics

LOG2_3 = np.log2(3.0)


def _csr(rows: dict[int, dict[int, float]], shape) -> sp.csr_matrix:
    r, c, v = [], [], []
    for u, items in rows.items():
        for i, x in items.items():
            r.append(u), c.append(i), v.append(x)
    return sp.csr_matrix((np.array(v, np.float32), (r, c)), shape=shape)


def _recs(lists: dict[int, list[int]]) -> pd.DataFrame:
    rows = [(u, r + 1, i) for u, items in lists.items() for r, i in enumerate(items) if i >= 0]
    return pd.DataFrame(rows, columns=["user_idx", "rank", "item_idx"])


# 4 users x 5 items. u0: test {1, 3}, recs [1, 2, 3] -> hits 1 0 1
#                    u1: test {0},    recs [2, 4, 0] -> hits 0 0 1
#                    u2: test {0..3}, recs [4]       -> hits 0 (then padding)
#                    u3: no test items -> not evaluated
TRAIN = _csr({0: {0: 3}, 1: {1: 1, 3: 2}, 3: {0: 1, 2: 5}}, (4, 5))
TEST = _csr({0: {1: 2, 3: 1}, 1: {0: 4}, 2: {0: 1, 1: 1, 2: 1, 3: 1}}, (4, 5))
RECS = _recs({0: [1, 2, 3], 1: [2, 4, 0], 2: [4], 3: [1, 3, 4]})

# value of each metric for users 0, 1, 2, worked out by hand from the definitions
EXPECTED = {
    "precision@1": [1.0, 0.0, 0.0],
    "recall@1": [0.5, 0.0, 0.0],
    "ndcg@1": [1.0, 0.0, 0.0],
    "map@1": [1.0, 0.0, 0.0],  # 1 * P@1 / min(1, 2)
    "hitrate@1": [1.0, 0.0, 0.0],
    "precision@3": [2 / 3, 1 / 3, 0.0],
    "recall@3": [1.0, 1.0, 0.0],
    # (1 + 1/log2 4) / (1 + 1/log2 3); (1/log2 4) / 1
    "ndcg@3": [1.5 / (1 + 1 / LOG2_3), 0.5, 0.0],
    # (P@1 + P@3) / min(3, 2); P@3 / min(3, 1)
    "map@3": [(1 + 2 / 3) / 2, 1 / 3, 0.0],
    "hitrate@3": [1.0, 1.0, 0.0],
    "mrr@3": [1.0, 1 / 3, 0.0],
    # p(i) = max(n_i, 1) / U with U = 3 users having training items, n = [2, 1, 1, 1, 0]
    "novelty@1": [LOG2_3, LOG2_3, LOG2_3],
    "novelty@3": [LOG2_3, (3 * LOG2_3 - 1) / 3, LOG2_3],
}


def test_hand_computed_metrics():
    per_user, catalogue = metrics.evaluate_recommendations(RECS, TRAIN, TEST, [1, 3])
    assert per_user["user_idx"].tolist() == [0, 1, 2]
    assert list(per_user.columns[1:]) == metrics.metric_names([1, 3])
    for name, expected in EXPECTED.items():
        np.testing.assert_allclose(per_user[name].to_numpy(), expected, atol=1e-9, rtol=0, err_msg=name)
    # items recommended to the evaluated users: {1, 2, 4} at k=1, all five at k=3
    assert catalogue == pytest.approx({"coverage@1": 0.6, "coverage@3": 1.0}, abs=1e-12)


def test_ndcg_ideal_uses_min_k_and_test_size():
    # 5 test items, perfect list of 3 -> nDCG@3 = 1 (ideal over min(3, 5) ranks)
    hits = np.array([[True, True, True]])
    m = metrics.ranking_metrics(hits, np.array([5]), [3])
    assert m["ndcg@3"][0] == pytest.approx(1.0, abs=1e-12)
    assert m["map@3"][0] == pytest.approx(1.0, abs=1e-12)
    assert m["recall@3"][0] == pytest.approx(0.6, abs=1e-12)


def test_loo_one_test_item():
    # leave-one-out: one test item per user; HitRate@k and MRR are the protocol's metrics
    hits = np.array([[False, False, True, False], [False] * 4, [True, False, False, False]])
    m = metrics.ranking_metrics(hits, np.ones(3), [2, 4])
    np.testing.assert_allclose(m["hitrate@2"], [0, 0, 1])
    np.testing.assert_allclose(m["hitrate@4"], [1, 0, 1])
    np.testing.assert_allclose(m["mrr@4"], [1 / 3, 0, 1])
    np.testing.assert_allclose(m["ndcg@4"], [0.5, 0, 1], atol=1e-12)
    np.testing.assert_allclose(m["recall@4"], m["hitrate@4"])


def test_training_items_in_recommendations_are_an_error():
    bad = _recs({0: [0, 1, 2], 1: [2, 4, 0], 2: [4]})  # item 0 is in user 0's training row
    with pytest.raises(ValueError, match="training items.*user_idx 0, rank 1, item_idx 0"):
        metrics.evaluate_recommendations(bad, TRAIN, TEST, [1, 3], source="x.parquet")


def test_too_short_table_names_the_file():
    with pytest.raises(ValueError, match="x.parquet.*k = 3"):
        metrics.evaluate_recommendations(_recs({0: [1], 1: [2]}), TRAIN, TEST, [1, 3],
                                         source="x.parquet")


def test_rec_matrix_rejects_duplicates_and_bad_ids():
    dup = pd.DataFrame({"user_idx": [0, 0], "rank": [1, 1], "item_idx": [1, 2]})
    with pytest.raises(ValueError, match="duplicate"):
        metrics.rec_matrix(dup, 2, 3, 1)
    with pytest.raises(ValueError, match="item_idx outside"):
        metrics.rec_matrix(pd.DataFrame({"user_idx": [0], "rank": [1], "item_idx": [3]}), 2, 3, 1)
    out = metrics.rec_matrix(pd.DataFrame({"user_idx": [1, 1], "rank": [2, 1], "item_idx": [0, 2]}), 2, 3, 2)
    assert out.tolist() == [[-1, -1], [2, 0]]


def test_rmse_per_user():
    # predict = 0.1 * user + 0.2 * item; targets log(1 + plays)
    def predict(u, i):
        return 0.1 * np.asarray(u) + 0.2 * np.asarray(i)

    got = metrics.rmse_per_user(predict, TEST, np.array([0, 1]))
    e0 = [(0.2 - np.log(3)) ** 2, (0.6 - np.log(2)) ** 2]
    e1 = [(0.1 - np.log(5)) ** 2]
    np.testing.assert_allclose(got, [np.sqrt(np.mean(e0)), np.sqrt(np.mean(e1))], atol=1e-12)
    with pytest.raises(ValueError, match="without test entries"):
        metrics.rmse_per_user(predict, TEST, np.array([3]))


def test_to_long_layout():
    per_user, _ = metrics.evaluate_recommendations(RECS, TRAIN, TEST, [1])
    long = metrics.to_long(per_user, entity="artist", seed=3, model="als", variant="f8")
    assert list(long.columns) == ["entity", "seed", "model", "variant", "user_idx", "metric", "value"]
    assert len(long) == 3 * len(metrics.metric_names([1]))
    assert long["seed"].dtype == np.int32 and set(long["model"]) == {"als"}


def test_agrees_with_ranx_on_a_random_case():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(11)
    n_users, n_items, k_max = 60, 40, 10
    dense = rng.random((n_users, n_items)) < 0.15
    dense[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # >= 1 test item each
    test = sp.csr_matrix(dense.astype(np.float32))
    train = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    lists = {u: rng.permutation(n_items)[:k_max].tolist() for u in range(n_users)}
    per_user, _ = metrics.evaluate_recommendations(_recs(lists), train, test, [5, 10])

    qid = lambda u: f"q{u:03d}"  # noqa: E731  (sorted query ids = user order)
    qrels = ranx.Qrels.from_dict({qid(u): {f"d{i}": 1 for i in np.flatnonzero(dense[u])}
                                  for u in range(n_users)})
    run = ranx.Run.from_dict({qid(u): {f"d{i}": float(k_max - r) for r, i in enumerate(lists[u])}
                              for u in range(n_users)})
    names = ["precision@5", "recall@5", "ndcg@5", "map@5", "hit_rate@5", "precision@10",
             "recall@10", "ndcg@10", "map@10", "hit_rate@10", "mrr@10"]
    ref = ranx.evaluate(qrels, run, names, return_mean=False)
    n_rel = dense.sum(axis=1)
    for name in names:
        ours = per_user[name.replace("hit_rate", "hitrate")].to_numpy()
        theirs = np.asarray(ref[name], dtype=np.float64)
        if name.startswith("map@"):
            # ranx divides AP@k by |T_u|; ours by min(k, |T_u|) (docs/evaluation.md)
            k = int(name.split("@")[1])
            theirs = theirs * n_rel / np.minimum(k, n_rel)
        np.testing.assert_allclose(ours, theirs, atol=1e-9, rtol=0, err_msg=name)
    assert per_user["hitrate@10"].sum() > 0 and per_user["map@10"].std() > 0


def _dacrema_recall(is_relevant, pos_items):
    """``recall`` of Ferrari Dacrema et al.'s Base/Evaluation/metrics.py (commit f5618c6)."""
    return np.sum(is_relevant, dtype=np.float32) / pos_items.shape[0]


def _dacrema_average_precision(is_relevant, pos_items):
    """``average_precision`` of the same file: MAP normalised by min(k, test items)."""
    if len(is_relevant) == 0:
        return 0.0
    p_at_k = is_relevant * np.cumsum(is_relevant, dtype=np.float32) / (1 + np.arange(is_relevant.shape[0]))
    return np.sum(p_at_k) / np.min([pos_items.shape[0], is_relevant.shape[0]])


def test_recall_and_map_are_the_papers_rec_and_map():
    """docs/reproductions.md compares tastemap's recall@k / map@k with Table 32's REC@k / MAP@k:
    the same numbers as the authors' own metric functions, on random lists."""
    rng = np.random.default_rng(5)
    n_items, ks = 300, [20, 40, 60, 80, 100]
    lists, tests = [], []
    for _ in range(200):
        tests.append(rng.choice(n_items, size=int(rng.integers(1, 150)), replace=False))
        lists.append(rng.permutation(n_items)[:100])
    hits = np.array([np.isin(lst, t) for lst, t in zip(lists, tests, strict=True)])
    ours = metrics.ranking_metrics(hits, np.array([len(t) for t in tests]), ks)
    for k in ks:
        for u, (lst, t) in enumerate(zip(lists, tests, strict=True)):
            is_relevant = np.isin(lst[:k], t)
            assert ours[f"recall@{k}"][u] == pytest.approx(_dacrema_recall(is_relevant, t), abs=1e-6)
            assert ours[f"map@{k}"][u] == pytest.approx(_dacrema_average_precision(is_relevant, t),
                                                       abs=1e-6)
