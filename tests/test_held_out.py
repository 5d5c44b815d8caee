"""Held-out users (strong generalisation): the draw of the users, the fold-in and likes parts,
truncated recall against the Mult-VAE formula, and the likes curve of a model that ignores what
it is told (flat) against one that uses it (rising)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tastemap.data import split
from tastemap.evaluate import metrics
from tastemap.models.ease import EASE
from tastemap.models.popularity import Popularity
from tastemap.pipeline import held_out as ho


def _random(n_users=60, n_items=40, density=0.3, seed=0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < density) * rng.integers(1, 50, (n_users, n_items))
    return sp.csr_matrix(dense.astype(np.float32))


def _genres(n_users=400, n_genres=4, per_genre=30, own=0.8, items_per_user=30, seed=0):
    """Users who play mostly one genre's items (``own`` of their items), with real play counts."""
    rng = np.random.default_rng(seed)
    n_items = n_genres * per_genre
    rows, cols = [], []
    for u in range(n_users):
        g = u % n_genres
        mine = rng.choice(np.arange(g * per_genre, (g + 1) * per_genre),
                          int(own * items_per_user), replace=False)
        others = rng.choice(np.setdiff1d(np.arange(n_items), mine),
                            items_per_user - len(mine), replace=False)
        cols += [*mine, *others]
        rows += [u] * items_per_user
    plays = rng.random(len(rows)).astype(np.float32) * 40 + 1
    return sp.csr_matrix((plays, (rows, cols)), shape=(n_users, n_items))


# ---- the draw and the parts ----------------------------------------------------------------


def test_held_out_users_are_disjoint_eligible_and_capped():
    keep = np.arange(60) >= 5  # five users without items: never drawn
    m = sp.csr_matrix(_random().toarray() * keep[:, None])
    valid, test = split.held_out_users(m, 0.2, 100, 5, seed=[0, 1, 2])
    assert len(valid) == len(test) == round(0.2 * 55)
    assert not set(valid) & set(test) and min(valid.min(), test.min()) >= 5
    assert [len(u) for u in split.held_out_users(m, 0.2, 3, 5, seed=0)] == [3, 3]
    again = split.held_out_users(m, 0.2, 100, 5, seed=[0, 1, 2])
    assert all(np.array_equal(a, b) for a, b in zip((valid, test), again, strict=True))


def test_hold_out_users_partitions_the_matrix():
    m = _random()
    rest, valid, test = split.hold_out_users(m, 0.1, 100, 5, seed=1)
    assert (rest + valid + test != m).nnz == 0
    assert rest.shape == valid.shape == test.shape == m.shape
    rows = [set(np.flatnonzero(np.diff(x.indptr))) for x in (rest, valid, test)]
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])


def test_no_user_held_out_names_the_key():
    with pytest.raises(split.NoTestUsers, match="split.held_out_users"):
        split.hold_out_users(_random(n_users=4), 0.1, 100, 5, seed=0)


def test_fold_in_split_keeps_the_share_and_every_item():
    m = _random()
    fold, scored = split.fold_in_split(m, 0.8, seed=3)
    assert (fold + scored != m).nnz == 0
    n = np.diff(m.indptr)
    expected = np.clip(np.rint(0.2 * n), 1, n - 1)
    np.testing.assert_array_equal(np.diff(scored.indptr)[n >= 2], expected[n >= 2])


@pytest.mark.parametrize("pick", split.PICKS)
def test_likes_split_is_nested_with_one_target(pick):
    m = _random(density=0.5)
    ns = [1, 3, 5, 10]
    liked, pool, target = split.likes_split(m, ns, pick, seed=4)
    measured = np.diff(m.indptr) > 10
    assert set(np.flatnonzero(np.diff(pool.indptr))) == set(np.flatnonzero(measured))
    assert (pool + target != sp.csr_matrix(m.multiply(measured[:, None]))).nnz == 0
    for n, told, smaller in zip(ns, liked, [None, *liked[:-1]], strict=True):
        assert np.all(np.diff(told.indptr)[measured] == n)
        assert (told.multiply(pool) != told.multiply(told)).nnz == 0  # told is part of the pool
        if smaller is not None:  # nested
            assert (smaller.multiply(told) != smaller.multiply(smaller)).nnz == 0
    if pick == "most played":  # nobody's target item is played more than their pool's least
        for u in np.flatnonzero(measured):
            assert pool[u].data.min() >= target[u].data.max()


# ---- metrics ---------------------------------------------------------------------------------


def _multvae_recall(scores: np.ndarray, heldout: sp.csr_matrix, k: int) -> np.ndarray:
    """Recall@k of Liang et al.'s Mult-VAE evaluation (vae_cf, WWW 2018), written from its
    formula: the k best-scored items as a boolean mask (argpartition), hits over min(k, n)."""
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    predicted = np.zeros_like(scores, dtype=bool)
    predicted[np.arange(len(scores))[:, None], top] = True
    truth = heldout.toarray() > 0
    return np.logical_and(truth, predicted).sum(axis=1) / np.minimum(k, truth.sum(axis=1))


def test_truncated_recall_agrees_with_the_multvae_formula():
    rng = np.random.default_rng(5)
    scores = rng.random((50, 300)).astype(np.float64)
    dense = rng.random((50, 300)) < rng.uniform(0.005, 0.4, (50, 1))
    dense[~dense.any(axis=1), 0] = True  # every user has a held-out item
    truth = sp.csr_matrix(dense, dtype=np.float32)
    ids = np.argsort(-scores, axis=1)[:, :100]
    hits = metrics.in_matrix(ids, truth, np.arange(50))
    ours = metrics.truncated_recall(hits, np.diff(truth.indptr), [20, 50])
    for k in (20, 50):
        np.testing.assert_allclose(ours[f"trecall@{k}"], _multvae_recall(scores, truth, k),
                                   rtol=0, atol=1e-12)
    # where every user has more than k relevant items, it is precision@k; never above 1
    assert ours["trecall@20"].max() <= 1.0
    assert (ours["trecall@50"] >= metrics.ranking_metrics(hits, np.diff(truth.indptr),
                                                          [50])["recall@50"] - 1e-12).all()


# ---- the likes curve ---------------------------------------------------------------------------


def _fit(model, train, path) -> ho.Fit:
    model.fit(train).save(path)
    return ho.Fit(model.name, "default", str(path))


def test_likes_curve_flat_for_popularity_rising_for_a_model_that_listens(tmp_path):
    m = _genres()
    rest, _, test = split.hold_out_users(m, 0.2, 1000, 5, seed=0)
    # popularity by play sums: real-valued, so no two items tie and its lists never reorder
    fits = [_fit(Popularity(by="plays"), rest, tmp_path / "pop.npz"),
            _fit(EASE(l2=50.0), rest, tmp_path / "ease.npz")]
    ctx = ho.context(rest, [10], 0.2)
    curve = ho.likes_curve(fits, test, [1, 3, 5, 10, 20], [0, 1, 5], ctx, "ndcg@10", 200)
    assert set(curve["n_users"]) == {80}
    for pick in split.PICKS:
        pop = curve[(curve["model"] == "popularity") & (curve["pick"] == pick)]["mean"]
        ease = curve[(curve["model"] == "ease") & (curve["pick"] == pick)].set_index("n")
        assert pop.max() - pop.min() < 1e-12, pick
        assert ease.loc[20, "mean"] > ease.loc[1, "mean"] + 0.1, pick
        assert ease.loc[20, "ci_low"] > pop.max(), pick


def test_score_part_and_likes_curve_repeat_bit_for_bit(tmp_path):
    m = _genres(n_users=120)
    rest, valid, test = split.hold_out_users(m, 0.2, 1000, 5, seed=2)
    fits = [_fit(EASE(l2=50.0), rest, tmp_path / "ease.npz")]
    ctx = ho.context(rest, [10, 20], 0.2)
    a = ho.score_part(fits, test, 0.8, [0, 7, 4], ctx)
    b = ho.score_part(fits, test, 0.8, [0, 7, 4], ctx)
    pd.testing.assert_frame_equal(a, b)
    assert set(ho.LITERATURE) <= set(a["metric"].astype(str))
    c = ho.likes_curve(fits, test, [1, 3], [0, 7, 5], ctx, "ndcg@10", 100)
    pd.testing.assert_frame_equal(c, ho.likes_curve(fits, test, [1, 3], [0, 7, 5], ctx,
                                                    "ndcg@10", 100))
    other = ho.score_part(fits, test, 0.5, [0, 7, 4], ctx)  # another fold-in share: other numbers
    assert not np.array_equal(a["value"].to_numpy(), other["value"].to_numpy())


def test_choose_takes_the_best_validation_variant_and_keeps_single_ones():
    board = pd.DataFrame({"model": ["als", "als", "ease"], "variant": ["f8", "f64", "l500"],
                          "metric": "ndcg@10", "mean": [0.2, 0.3, 0.1]})
    fits = [ho.Fit("als", "f8", "a"), ho.Fit("als", "f64", "b"), ho.Fit("ease", "l500", "c"),
            ho.Fit("popularity", "default", "d")]
    assert [(f.model, f.variant) for f in ho.choose(board, fits, "ndcg@10")] == [
        ("als", "f64"), ("ease", "l500"), ("popularity", "default")]


def test_page_lists_the_families_that_cannot_fold_in():
    board = pd.DataFrame({"rank": [1], "model": ["ease"], "variant": ["l500"],
                          "metric": ["ndcg@10"], "mean": [0.3], "ci_low": [0.2],
                          "ci_high": [0.4], "n_users": [12]})
    curve = pd.DataFrame({"model": "ease", "variant": "l500", "pick": "random", "n": [1, 3],
                          "n_users": 9, "metric": "ndcg@10", "mean": [0.1, 0.2],
                          "ci_low": [0.0, 0.1], "ci_high": [0.2, 0.3]})
    page = ho.markdown(board, [ho.Fit("ease", "l500", "x")], curve, ["mymodel"], "artist", 0,
                       "ndcg@10", 0.8)
    assert "Not measured: mymodel" in page and "ease `l500`" in page
    assert "| ease | 0.1000 [0.0000, 0.2000] | 0.2000 [0.1000, 0.3000] |" in page
