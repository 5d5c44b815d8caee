"""Unit tests of the classic recommenders (ALS, BPR, item/user-kNN, popularity, EASE), the
baselines (P3alpha, RP3beta, SLIM, PureSVD; their definitions: tests/test_baselines.py) and their
output tables, on small hand-made or planted-genre matrices."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tastemap.app.explain import explanations_table, sample_users
from tastemap.models import make
from tastemap.models.als import ALS, confidence
from tastemap.models.base import Recommender, top_k, top_k_dot, top_k_sparse
from tastemap.models.ease import TooManyItems
from tastemap.models.knn import weigh
from tastemap.models.tables import (
    UnknownItem,
    history_table,
    item_names,
    profiles_matrix,
    recommendations_table,
)
from tastemap.pipeline.fit import Fit, fit_outputs

CLASSIC = ["als", "bpr", "itemknn", "userknn", "popularity", "ease", "p3alpha", "rp3beta", "slim",
           "puresvd"]
SMALL = {"als": dict(factors=8, iterations=5), "bpr": dict(factors=8, iterations=20),
         "itemknn": dict(neighbours=10), "userknn": dict(neighbours=10), "popularity": {},
         "ease": dict(l2=10.0), "p3alpha": dict(neighbours=20), "rp3beta": dict(neighbours=20),
         "slim": dict(neighbours=20, alpha=0.1), "puresvd": dict(factors=8)}
#: the baselines at settings that find the planted genres
BASELINES = [("p3alpha", dict(neighbours=20)), ("rp3beta", dict(neighbours=20)),
             ("slim", dict(neighbours=20, alpha=0.1)), ("puresvd", dict(factors=4))]


def planted(n_users=240, n_genres=4, per_genre=30, items_per_user=15, purity=0.9, seed=0):
    """Users x items play counts where each user mostly plays one genre's items (Zipf-ish
    popularity inside a genre, Pareto play counts). Returns (matrix, user genre, item genre)."""
    rng = np.random.default_rng(seed)
    n_items = n_genres * per_genre
    item_genre = np.repeat(np.arange(n_genres), per_genre)
    user_genre = rng.integers(n_genres, size=n_users)
    pop = 1.0 / np.arange(1, per_genre + 1) ** 0.8
    pop /= pop.sum()
    rows, cols = [], []
    for u, g in enumerate(user_genre):
        n_in = int(round(items_per_user * purity))
        inside = g * per_genre + rng.choice(per_genre, size=n_in, replace=False, p=pop)
        outside = rng.choice(np.flatnonzero(item_genre != g), size=items_per_user - n_in, replace=False)
        items = np.concatenate([inside, outside])
        rows += [u] * len(items)
        cols += list(items)
    plays = np.ceil(rng.pareto(1.2, size=len(rows)) * 5 + 1)
    X = sp.csr_matrix((plays.astype(np.float32), (rows, cols)), shape=(n_users, n_items))
    X.sort_indices()
    return X, user_genre, item_genre


@pytest.fixture(scope="module")
def data():
    return planted()


# ---- ALS confidence: the formula, and implicit's use of it ------------------------------------

def test_confidence_formulas_exact():
    X = sp.csr_matrix(np.array([[0, 3.0, 1.0], [10.0, 0, 0]], dtype=np.float32))
    assert confidence(X, "hu", alpha=2.0).toarray().tolist() == [[0, 7, 3], [21, 0, 0]]
    C = confidence(X, "log", alpha=4.0, eps=0.5).toarray()
    np.testing.assert_allclose(C[0, 1], 1 + 4 * np.log(1 + 3 / 0.5), rtol=1e-6)
    np.testing.assert_allclose(C[1, 0], 1 + 4 * np.log(1 + 10 / 0.5), rtol=1e-6)
    assert C[0, 0] == 0 and C[1, 2] == 0  # unobserved pairs stay unstored
    assert confidence(X, "binary", alpha=3.0).toarray().tolist() == [[0, 4, 4], [4, 0, 0]]
    # bm25: items are the documents (bm25 over the items x users matrix), as implicit's example
    from implicit.nearest_neighbours import bm25_weight

    B = bm25_weight(X.T.tocsr(), K1=100, B=0.8).T.toarray()
    np.testing.assert_allclose(confidence(X, "bm25", alpha=2.0).toarray()[X.toarray() > 0],
                               1 + 2 * B[X.toarray() > 0], rtol=1e-6)
    with pytest.raises(ValueError, match="confidence transform"):
        confidence(X, "sqrt")


def _hu_solve(fixed, c_row, reg):
    """Closed-form minimiser of sum_i c_i (p_i - x.y_i)^2 + reg |x|^2 (Hu et al. eq. 4):
    x = (Y^T C Y + reg I)^-1 Y^T C p, with c_i = 1 and p_i = 0 where nothing was played."""
    c = np.where(c_row > 0, c_row, 1.0)
    p = (c_row > 0).astype(float)
    A = fixed.T @ (c[:, None] * fixed) + reg * np.eye(fixed.shape[1])
    return np.linalg.solve(A, fixed.T @ (c * p))


@pytest.mark.parametrize("transform", ["hu", "log", "binary"])
def test_als_matches_closed_form_hu_objective(transform):
    X = sp.csr_matrix(np.array([[5, 0, 1, 0, 0, 2], [0, 3, 0, 0, 1, 0], [1, 0, 0, 8, 0, 0],
                                [0, 0, 2, 0, 4, 1]], dtype=np.float32))
    m = ALS(factors=3, regularization=0.3, iterations=4, confidence=transform, alpha=2.0,
            eps=0.5, use_cg=False, random_state=3).fit(X)
    C = {"hu": 1 + 2.0 * X.toarray(), "log": 1 + 2.0 * np.log1p(X.toarray() / 0.5),
         "binary": np.full(X.shape, 3.0)}[transform] * (X.toarray() > 0)
    U, V = m.user_factors.astype(float), m.item_factors.astype(float)
    # the last half-sweep solved the items exactly given the users (Cholesky solver)
    for j in range(X.shape[1]):
        np.testing.assert_allclose(V[j], _hu_solve(U, C[:, j], 0.3), rtol=2e-4, atol=2e-5)
    # fold-in of a user is the exact solve given the items
    for u in range(X.shape[0]):
        np.testing.assert_allclose(m.fold_in(X[u])[0], _hu_solve(V, C[u], 0.3), rtol=2e-4, atol=2e-5)


# ---- every model: no played item, shapes, determinism, save/load ---------------------------------

@pytest.mark.parametrize("name", CLASSIC)
def test_recommendations_never_contain_played_items(name, data):
    X, _, _ = data
    m = make(name, random_state=1, **SMALL[name]).fit(X)
    ids, scores = m.recommend(k=20)
    assert ids.shape == scores.shape == (X.shape[0], 20)
    played = X.toarray() > 0
    rows = np.repeat(np.arange(X.shape[0]), 20).reshape(ids.shape)
    assert not played[rows[ids >= 0], ids[ids >= 0]].any()
    # best first; kNN lists may end early (padded with -inf where no item has a score)
    assert (np.diff(np.where(np.isfinite(scores), scores, -3e38), axis=1) <= 0).all()
    assert ((ids == -1) == np.isneginf(scores)).all()
    new_ids, _ = m.recommend_new(X[:5], k=10)
    assert not played[np.repeat(np.arange(5), 10).reshape(5, 10), new_ids].any()


@pytest.mark.parametrize("name", CLASSIC)
def test_same_seed_same_numbers(name, data, tmp_path):
    X, _, _ = data
    a = make(name, random_state=7, **SMALL[name]).fit(X)
    b = make(name, random_state=7, **SMALL[name]).fit(X)
    ra, rb = a.recommend(k=10), b.recommend(k=10)
    np.testing.assert_array_equal(ra[0], rb[0])
    np.testing.assert_array_equal(ra[1], rb[1])
    if a.has_factors:
        np.testing.assert_array_equal(a.user_factors, b.user_factors)
        np.testing.assert_array_equal(a.item_factors, b.item_factors)


def test_factor_models_depend_on_seed(data):
    X, _, _ = data
    for name in ("als", "bpr"):
        a = make(name, random_state=1, **SMALL[name]).fit(X)
        b = make(name, random_state=2, **SMALL[name]).fit(X)
        assert not np.array_equal(a.item_factors, b.item_factors)


# ---- planted genres: similar items and new listeners -----------------------------------------

@pytest.mark.parametrize("name,params", [
    ("als", dict(factors=16, iterations=10)), ("itemknn", dict(neighbours=20)),
    ("userknn", dict(neighbours=20)), ("ease", dict(l2=20.0)), *BASELINES,
])
def test_similar_items_share_the_planted_genre(name, params, data):
    X, _, item_genre = data
    m = make(name, random_state=0, **params).fit(X)
    ids, _ = m.similar_items(np.arange(X.shape[1]), k=10)
    assert (ids != np.arange(X.shape[1])[:, None]).all()  # never itself
    same = (item_genre[ids] == item_genre[:, None])[ids >= 0].mean()
    assert same >= 0.8, f"{name}: only {same:.0%} of similar items share the genre"


@pytest.mark.parametrize("name,params", [
    ("als", dict(factors=16, iterations=10)), ("itemknn", dict(neighbours=20)),
    ("userknn", dict(neighbours=20)), ("ease", dict(l2=20.0)),
    ("bpr", dict(factors=16, iterations=60, learning_rate=0.05)), *BASELINES,
])
def test_new_listener_of_one_genre_gets_that_genre(name, params, data):
    X, _, item_genre = data
    m = make(name, random_state=0, **params).fit(X)
    rows = []
    for g in range(4):
        favourites = np.flatnonzero(item_genre == g)[[0, 3, 6, 9]]
        rows.append(sp.csr_matrix((np.full(4, 20.0, np.float32), (np.zeros(4), favourites)),
                                  shape=(1, X.shape[1])))
    ids, _ = m.recommend_new(sp.vstack(rows).tocsr(), k=10)
    same = (item_genre[ids] == np.arange(4)[:, None]).mean()
    assert same >= 0.8, f"{name}: only {same:.0%} of fold-in recommendations in the genre"


def test_popularity_scores_listeners():
    X = sp.csr_matrix(np.array([[1, 0, 5, 0], [2, 0, 0, 0], [0, 1, 9, 0]], dtype=np.float32))
    m = make("popularity", random_state=0).fit(X)
    np.testing.assert_array_equal(m.popularity_, [2, 1, 2, 0])
    ids, _ = m.recommend(k=2)
    assert ids.tolist() == [[1, 3], [2, 1], [0, 3]]
    assert make("popularity", by="plays", random_state=0).fit(X).popularity_.tolist() == [3, 1, 14, 0]


@pytest.mark.parametrize("horizon", [0, 3, 1024])
def test_first_unplayed_is_the_ranking_minus_each_users_items(horizon):
    """The popularity fast path against a per-user loop, on heavy users who played most of the
    top items (a horizon of 0 or 3 sends them through the second, whole-ranking pass)."""
    from tastemap.models.popularity import first_unplayed

    rng = np.random.default_rng(0)
    n, m, k = 300, 40, 7
    dense = rng.random((n, m)) < rng.uniform(0.0, 0.98, size=(n, 1))
    order = rng.permutation(m)
    ids = first_unplayed(order, sp.csr_matrix(dense.astype(np.float32)), k, horizon=horizon)
    for u in range(n):
        want = [i for i in order if not dense[u, i]][:k]
        assert ids[u].tolist() == want + [-1] * (k - len(want)), u


def test_popularity_recommend_scores_as_the_generic_path(data):
    """Popularity's own recommend gives the scores of the generic dot-product path (the
    catalogue scored, played items excluded), never a played item, and ranks equal scores by
    item index (the generic path leaves their order to torch.topk)."""
    from tastemap.models.base import Recommender

    X, _, _ = data
    m = make("popularity", random_state=0).fit(X)
    ids, scores = m.recommend(k=15)
    np.testing.assert_array_equal(scores, Recommender.recommend(m, k=15)[1])
    np.testing.assert_array_equal(scores, m.popularity_[ids])
    assert not X[np.arange(X.shape[0])[:, None], ids].toarray().any()
    tie = scores[:, 1:] == scores[:, :-1]
    assert (ids[:, 1:][tie] > ids[:, :-1][tie]).all()
    users = np.array([5, 0, 17])
    np.testing.assert_array_equal(m.recommend(users, k=4, exclude_seen=False)[0],
                                  np.tile(np.argsort(-m.popularity_, kind="stable")[:4], (3, 1)))


def test_ease_closed_form_and_guard():
    X = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float32))
    m = make("ease", l2=0.5, random_state=0).fit(X)
    G = X.T.toarray() @ X.toarray() + 0.5 * np.eye(3)
    P = np.linalg.inv(G)
    B = np.eye(3) - P / np.diag(P)
    np.fill_diagonal(B, 0)
    np.testing.assert_allclose(m.B_, B, rtol=1e-5, atol=1e-6)
    with pytest.raises(TooManyItems, match="models.ease.max_items=2"):
        make("ease", max_items=2, random_state=0).fit(X)


def test_user_knn_matches_dense_cosine(data):
    X, _, _ = data
    m = make("userknn", neighbours=5, random_state=0).fit(X)
    W = np.log1p(X.toarray())
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    S = unit @ unit.T
    np.fill_diagonal(S, -np.inf)
    for u in (0, 17, 101):
        nb = np.argsort(-S[u])[:5]
        expected = S[u, nb] @ W[nb]
        np.testing.assert_allclose(m._score(np.array([u]))[0], expected, rtol=1e-4, atol=1e-5)
    # a new user equal to a known one gets the same neighbours (except that user itself)
    np.testing.assert_allclose(m._score_new(X[[0]])[0].sum() > 0, True)


def test_item_knn_neighbours_are_cosine_top_k(data):
    X, _, _ = data
    m = make("itemknn", neighbours=5, similarity="cosine", random_state=0).fit(X)
    W = np.log1p(X.toarray())
    unit = W / np.linalg.norm(W, axis=0, keepdims=True)
    S = unit.T @ unit
    np.fill_diagonal(S, -np.inf)
    ids, scores = m.similar_items(np.arange(X.shape[1]), k=5)
    np.testing.assert_allclose(scores, -np.sort(-S, axis=1)[:, :5], rtol=1e-4, atol=1e-5)


def test_bpr_history_and_threads(data):
    X, _, _ = data
    m = make("bpr", factors=8, iterations=5, random_state=0).fit(X)
    assert [h[0] for h in m.history_] == [1, 2, 3, 4, 5]
    assert all(h[1:3] == ("train", "auc") and 0 <= h[3] <= 1 for h in m.history_)
    assert m.threads_ == 1  # single-threaded: the seed fixes the factors


def test_bpr_negatives_are_uniform_so_the_item_bias_learns_popularity():
    """Plays with no structure but popularity: with negatives drawn uniformly from the catalogue
    a popular item is a positive far more often than a negative, so its bias rises with its
    listeners. Negatives drawn in proportion to listeners (implicit's sampler) cancel that and
    leave the bias unrelated to popularity."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    n_users, n_items = 300, 60
    pop = 1.0 / np.arange(1, n_items + 1)
    rows = np.repeat(np.arange(n_users), 8)
    cols = np.concatenate([rng.choice(n_items, 8, replace=False, p=pop / pop.sum())
                           for _ in range(n_users)])
    X = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    m = make("bpr", factors=4, iterations=20, learning_rate=0.05, random_state=0).fit(X)
    bias = m.item_factors_[:, -1]
    assert spearmanr(bias, X.getnnz(axis=0)).statistic > 0.9
    assert (m.user_factors_[:, -1] == 1).all()
    assert (make("bpr", factors=4, iterations=3, item_bias=False).fit(X).item_factors_[:, -1] == 0).all()


def test_bpr_plain_sgd_learns_and_a_bad_optimizer_is_refused(data):
    X, _, _ = data
    m = make("bpr", factors=8, iterations=30, optimizer="sgd", batch_size=1, learning_rate=0.1,
             random_state=0).fit(X)
    auc = [h[3] for h in m.history_]
    assert auc[-1] > auc[0] and auc[-1] > 0.8
    with pytest.raises(ValueError, match="optimizer"):
        make("bpr", optimizer="adam").fit(X)
    with pytest.raises(ValueError, match="batch_size"):
        make("bpr", batch_size=0).fit(X)


def test_bpr_user_regularization_defaults_to_the_item_one(data):
    X, _, _ = data
    same = make("bpr", factors=8, iterations=3, regularization=0.05, random_state=0).fit(X)
    said = make("bpr", factors=8, iterations=3, regularization=0.05, user_regularization=0.05,
                random_state=0).fit(X)
    free = make("bpr", factors=8, iterations=3, regularization=0.05, user_regularization=0.0,
                random_state=0).fit(X)
    np.testing.assert_array_equal(same.user_factors_, said.user_factors_)
    assert not np.array_equal(same.user_factors_, free.user_factors_)


def test_bpr_played_is_a_binary_search_of_the_sorted_row():
    from tastemap.models.bpr import _played

    rng = np.random.default_rng(1)
    row = np.sort(rng.choice(100, 30, replace=False)).astype(np.int64)
    indices = np.concatenate([[7, 3], row, [1]]).astype(np.int64)
    for item in range(100):
        assert _played(indices, 2, 32, item) == (item in set(row.tolist()))


def test_als_history_is_training_loss(data):
    X, _, _ = data
    m = make("als", factors=8, iterations=6, random_state=0).fit(X)
    loss = [h[3] for h in m.history_]
    assert len(loss) == 6 and loss[-1] < loss[0]
    t = history_table(m.history_)
    assert t.schema.names == ["epoch", "split", "metric", "value"]
    assert history_table([]).num_rows == 0


def test_top_k_pads_and_orders():
    ids, s = top_k(np.array([[0.1, -np.inf, 0.3], [-np.inf, -np.inf, 2.0]], np.float32), 3)
    assert ids.tolist() == [[2, 0, -1], [2, -1, -1]]
    assert np.isneginf(s[0, 2])


def _dense_top_k(scores, seen, k):
    scores = scores.astype(np.float32).copy()
    scores[seen.toarray() > 0] = -np.inf
    return top_k(scores, k)


@pytest.mark.parametrize("k", [1, 5, 40])
def test_top_k_dot_equals_dense_selection(k):
    """The norm-ordered, pruned, tiled selection returns exactly what scoring every pair does,
    with played items excluded, negative scores, zero vectors and heavy-tailed norms."""
    rng = np.random.default_rng(3)
    users = rng.standard_normal((300, 6)).astype(np.float32)
    users[7] = 0.0
    items = (rng.standard_normal((35, 6)) * rng.pareto(1.5, (35, 1))).astype(np.float32)
    items[4] = 0.0
    seen = sp.random(300, 35, density=0.3, random_state=1, format="lil")
    seen[11] = 1.0  # a user who played everything gets nothing
    seen = sp.csr_matrix(seen)
    ids, scores = top_k_dot(users, items, k, exclude=seen, block_rows=64, chunk=8)
    want_ids, want_scores = _dense_top_k(users @ items.T, seen, k)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    assert (ids[11] == -1).all() and np.isneginf(scores[11]).all()
    finite = np.isfinite(want_scores)
    full = users @ items.T
    rows = np.nonzero(finite)[0]
    np.testing.assert_allclose(full[rows, ids[finite]], want_scores[finite], rtol=1e-5, atol=1e-6)
    assert (ids[~finite] == -1).all()


def test_top_k_dot_prunes_by_norm_without_changing_the_answer():
    """With popularity-shaped norms most tiles are never scored, and the lists are still exact."""
    rng = np.random.default_rng(0)
    items = rng.random((5000, 8)).astype(np.float32) / np.arange(1, 5001)[:, None] ** 0.8
    users = rng.random((200, 8)).astype(np.float32)
    calls = []
    real_topk = __import__("torch").topk

    def counting_topk(x, *a, **kw):
        calls.append(x.shape)
        return real_topk(x, *a, **kw)

    import torch
    torch.topk = counting_topk
    try:
        ids, scores = top_k_dot(users, items, 10, chunk=256)
    finally:
        torch.topk = real_topk
    want_ids, want_scores = top_k(users @ items.T, 10)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6)
    tiles = sum(1 for shape in calls if shape[1] == 256)
    assert tiles < 5000 // 256 / 2, f"{tiles} tiles scored: no pruning"


def test_top_k_sparse_equals_dense_selection():
    m = sp.random(50, 30, density=0.2, random_state=2, format="csr", dtype=np.float32)
    m.data -= 0.5  # negative scores too; absent entries are not candidates
    ids, scores = top_k_sparse(m, 8)
    dense = m.toarray()
    dense[dense == 0] = -np.inf
    want_ids, want_scores = top_k(dense, 8)
    np.testing.assert_allclose(scores, want_scores)
    assert ((ids == -1) == np.isneginf(want_scores)).all()
    rows = np.nonzero(ids >= 0)[0]
    np.testing.assert_allclose(dense[rows, ids[ids >= 0]], scores[ids >= 0])


@pytest.mark.parametrize("name", ["als", "itemknn", "userknn", "popularity", "p3alpha", "slim",
                                  "puresvd"])
def test_fast_recommend_paths_match_dense_scores(name, data):
    """recommend's fast path (dot products / sparse scores) gives the lists dense scoring gives;
    kNN lists end where the neighbourhoods do (items without a score are not candidates)."""
    X, _, _ = data
    m = make(name, random_state=0, **SMALL[name]).fit(X)
    ids, scores = m.recommend(k=15)
    dense = np.asarray(m._score(np.arange(X.shape[0])), dtype=np.float32)
    if m.scoring == "sparse":
        dense[dense == 0] = -np.inf
    want_ids, want_scores = _dense_top_k(dense, X, 15)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    sim_ids, sim_scores = m.similar_items(np.arange(X.shape[1]), k=5)
    assert (sim_ids != np.arange(X.shape[1])[:, None]).all()


# ---- tables, profiles, explanations -----------------------------------------------------------

def test_tables_and_names(data):
    X, _, _ = data
    songs = pd.DataFrame({"song_idx": [1, 0], "artist": ["B", "A"], "track": ["y", "x"]})
    assert item_names(songs, "song").tolist() == ["A - x", "B - y"]
    users = np.array([f"u{i}" for i in range(X.shape[0])], dtype=object)
    items = np.array([f"a{i}" for i in range(X.shape[1])], dtype=object)
    out = fit_outputs(Fit("itemknn", {"neighbours": 10}), X, users, items, n=7, similar_n=4)
    recs, similar, hist = out.recommendations, out.similar, out.history
    assert str(recs.dtypes["rank"]) == "int16" and str(recs.dtypes["score"]) == "float32"
    assert str(recs.dtypes["user_idx"]) == "int32" and str(recs.dtypes["item"]) == "string"
    assert recs.groupby("user_idx")["rank"].max().eq(7).all()
    assert recs["user_idx"].nunique() == X.shape[0]
    assert list(similar.columns) == ["item_idx", "item", "rank", "similar_idx", "similar", "score"]
    assert similar["item_idx"].nunique() == X.shape[1]
    assert (similar["item"] == "a" + similar["item_idx"].astype(str)).all()
    assert hist.num_rows == 0
    t = recommendations_table(np.array([3]), np.array([[2, -1]]), np.array([[0.5, -np.inf]]),
                              users, items)
    assert t[["user", "rank", "item"]].values.tolist() == [["u3", 1, "a2"]]


def test_profiles_matrix_names_and_errors():
    items = np.array(["Radiohead", "Portishead", "Björk"], dtype=object)
    names, X = profiles_matrix({"p1": ["radiohead", "Björk"], "p2": {"Portishead": 7}}, items, 30.0)
    assert names == ["p1", "p2"]
    assert X.toarray().tolist() == [[30, 0, 30], [0, 7, 0]]
    with pytest.raises(UnknownItem, match=r"models.new_users.p3: unknown name 'Radiohed'.*'Radiohead'"):
        profiles_matrix({"p3": ["Radiohed"]}, items, 1.0)


def test_explanations_sum_to_the_score(data):
    X, _, _ = data
    m = make("als", factors=8, iterations=5, random_state=0).fit(X)
    users_names = np.array([f"u{i}" for i in range(X.shape[0])], dtype=object)
    items = np.array([f"a{i}" for i in range(X.shape[1])], dtype=object)
    ids, scores = m.recommend(k=3)
    recs = recommendations_table(np.arange(X.shape[0]), ids, scores, users_names, items)
    users = sample_users(X, 4, seed=1)
    assert len(users) == 4 and np.array_equal(users, sample_users(X, 4, seed=1))
    table = explanations_table(m, X, recs, users, items, n=100)
    assert set(table["user_idx"]) == set(users.tolist())
    played = X.toarray() > 0
    assert played[table["user_idx"], table["played_idx"]].all()
    # with every played item listed, the contributions add up to the model's score (Hu et al. s.5)
    total = table.groupby(["user_idx", "rank"]).agg(c=("contribution", "sum"), s=("score", "first"))
    np.testing.assert_allclose(total["c"], total["s"], rtol=2e-2, atol=2e-3)


def test_weigh():
    X = sp.csr_matrix(np.array([[0, 3.0]], dtype=np.float32))
    assert weigh(X, "binary").toarray().tolist() == [[0, 1]]
    assert weigh(X, "raw").toarray().tolist() == [[0, 3]]
    with pytest.raises(ValueError, match="weighting"):
        weigh(X, "sqrt")


def test_every_family_registers_under_its_name():
    from tastemap.models import FAMILIES, specs
    models = specs()
    assert set(models) == set(FAMILIES)
    for name, cls in models.items():
        assert f"{cls.__module__}:{cls.__qualname__}" == FAMILIES[name] and cls.name == name


# ---- declarations and the registry -----------------------------------------------------------

import inspect  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from tastemap.core import store  # noqa: E402
from tastemap.models import registry  # noqa: E402
from tastemap.models.base import SCORINGS, NoTrainingMatrix  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: every family, small and fast: the torch families fit in a second at this size
ALL_SMALL = {**SMALL, "lda": dict(k=4, max_iter=5), "mf": dict(factors=4, epochs=3),
             "item2vec": dict(factors=4, epochs=3), "sgns": dict(factors=4, epochs=2),
             "twotower": dict(factors=4, hidden=8, epochs=2)}


def test_registry_reads_every_declaration_without_heavy_imports():
    """The workflow reads the declarations in every job: no torch, implicit or sklearn."""
    code = ("import sys\n"
            "from tastemap.models import registry\n"
            "table = registry.capabilities_markdown()\n"
            "for name, cls in registry.specs().items():\n"
            "    assert cls.sweep_prefixes and cls.similar_by, name\n"
            "    registry.variants(name, {})\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'implicit', 'sklearn', 'threadpoolctl', 'umap'))\n"
            "print(len(registry.specs()), heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "15 []", out.stdout + out.stderr


@pytest.mark.parametrize("name", sorted(registry.FAMILIES))
def test_declarations_are_what_the_fitted_model_does(name, data):
    """Each declaration holds for a real fit; sweep keys are constructor arguments."""
    cls = registry.get(name)
    args = inspect.signature(cls.__init__).parameters
    assert set(cls.sweep_prefixes) <= set(args), set(cls.sweep_prefixes) - set(args)
    assert len(set(cls.sweep_prefixes.values())) == len(cls.sweep_prefixes)
    assert cls.scoring in SCORINGS
    X, _, _ = data
    m = make(name, random_state=0, **ALL_SMALL[name]).fit(X)
    if cls.has_factors:
        assert m.user_factors.shape[0] == X.shape[0] and m.item_factors.shape[0] == X.shape[1]
    else:
        with pytest.raises(AttributeError):
            _ = m.user_factors
    if cls.folds_in:
        assert m.recommend_new(X[:2], k=3)[0].shape == (2, 3)
    if cls.has_loss_curve:
        assert len({row[0] for row in m.history_}) >= 2  # a value per epoch
    assert callable(getattr(m, "predict", None)) == cls.predicts_ratings
    if cls.explains:
        assert callable(getattr(m, "explain_rows", None) or getattr(m, "explain", None))
    ids, _ = m.similar_items(np.arange(5), k=3)
    assert ids.shape == (5, 3) and (ids != np.arange(5)[:, None]).all()
    users = np.arange(0, X.shape[0], 7)
    ids, scores = m.recommend(users, k=5)  # the declared scoring path vs dense scores
    want = np.asarray(m._score(users), dtype=np.float32)
    if cls.scoring == "sparse":
        want[want == 0] = -np.inf
    np.testing.assert_allclose(scores, _dense_top_k(want, X[users], 5)[1], rtol=1e-5, atol=1e-6)


def test_a_family_without_similar_items_says_so(data, tmp_path):
    X = data[0]

    @registry.register("testnosimilar")
    class NoSimilar(registry.get("popularity")):
        similar_by = None
        folds_in = False

    m = NoSimilar().fit(X)
    with pytest.raises(TypeError, match="no similar items"):
        m.similar_items(np.arange(3))
    with pytest.raises(TypeError, match="folds_in is False"):
        m.recommend_new(X[:1])
    users, items = np.arange(X.shape[0]).astype(str), np.arange(X.shape[1]).astype(str)
    out = fit_outputs(Fit("testnosimilar"), X, users, items, n=2, similar_n=3)
    assert out.similar is None and out.recommendations["rank"].max() == 2
    out.write(tmp_path / "m.npz", tmp_path / "r.parquet", tmp_path / "h.parquet",
              similar=tmp_path / "s.parquet")
    assert pd.read_parquet(tmp_path / "s.parquet").empty
    out = fit_outputs(Fit("popularity"), X, users, items, n=2, similar_n=3)
    assert len(out.similar) == 3 * X.shape[1]
    with pytest.raises(TypeError, match="scoring"):
        type("Bad", (NoSimilar,), {"scoring": "fast"})


def test_schema_sweeps_exactly_the_declared_keys():
    """The config schema accepts a list on every key a family can sweep, and only there."""
    schema = yaml.safe_load((REPO / "src" / "tastemap" / "schemas" / "config.schema.yaml").read_text())
    sections = schema["properties"]["models"]["properties"]
    for name, cls in registry.specs().items():
        props = sections[name]["properties"]
        for key, spec in props.items():
            types = spec.get("type") if isinstance(spec.get("type"), list) else [spec.get("type")]
            if key == "entities":
                continue
            assert ("array" in types) == (key in cls.sweep_prefixes), f"models.{name}.{key}"
        assert set(cls.sweep_prefixes) <= set(props), f"models.{name}"


# ---- variants ----------------------------------------------------------------------------------

def test_variants_are_the_product_named_in_declared_order():
    # config key order does not matter (the config is resolved with sorted keys)
    section = {"regularization": [0.01, 0.1], "enabled": True, "entities": ["artist"],
               "factors": [32, 64], "iterations": 5}
    out = registry.variants("als", section)
    assert list(out) == ["f32_r0.01", "f32_r0.1", "f64_r0.01", "f64_r0.1"]
    assert out["f64_r0.01"] == {"regularization": 0.01, "factors": 64, "iterations": 5}
    assert list(registry.variants("als", {"factors": [64]})) == ["f64"]
    assert list(registry.variants("als", {"factors": 64})) == ["default"]
    assert list(registry.variants("bpr", {"learning_rate": [1e-05, 0.001], "iterations": [10000]})) \
        == ["lr1e-05_i10000", "lr0.001_i10000"]
    assert list(registry.variants("itemknn", {"similarity": ["cosine", "bm25"], "neighbours": [20]})) \
        == ["k20_scosine", "k20_sbm25"]
    assert registry.swept_keys("als", section) == ["factors", "regularization"]


@pytest.mark.parametrize("name,section,message", [
    ("als", {"use_cg": [True, False]}, r"models\.als\.use_cg: a list sweeps only factors, "),
    ("popularity", {"by": ["users", "all plays"]}, r"models\.popularity\.by: 'all plays' cannot "
                                                   r"name a variant"),
    ("als", {"factors": []}, r"models\.als\.factors: an empty list"),
    ("ease", {"l2": [500, 500.0]}, r"models\.ease: two values of l2 both name variant 'l500'"),
    ("nosuch", {}, r"unknown model 'nosuch'"),
])
def test_variants_refuse_what_cannot_be_named(name, section, message):
    with pytest.raises((ValueError, KeyError), match=message):
        registry.variants(name, section)


# ---- saving without pickle ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def fitted_all(data):
    return {name: make(name, random_state=2, **params).fit(data[0])
            for name, params in ALL_SMALL.items()}


@pytest.mark.parametrize("name", sorted(ALL_SMALL))
def test_round_trip_gives_identical_recommendations(name, fitted_all, data, tmp_path):
    X = data[0]
    m = fitted_all[name]
    path = tmp_path / "model.npz"
    m.save(path)
    with np.load(path, allow_pickle=False) as npz:  # nothing but plain arrays
        assert all(npz[k].dtype != object for k in npz.files)
        # no copy of the training matrix (the exclusion set comes with load(path, train=X))
        assert not {k.split("/")[0] for k in npz.files} & {"seen_", "train_", "weights_"}
        assert X.nnz not in {npz[k].size for k in npz.files}
    back = Recommender.load(path, train=X)
    assert type(back) is type(m) and back.get_params() == m.get_params()
    for a, b in zip(m.recommend(k=10), back.recommend(k=10)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(m.recommend_new(X[:6], k=10), back.recommend_new(X[:6], k=10)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(m.similar_items(np.arange(X.shape[1]), 5),
                    back.similar_items(np.arange(X.shape[1]), 5)):
        np.testing.assert_array_equal(a, b)
    assert list(back.history_) == list(m.history_)
    if m.predicts_ratings:
        u, i = X.nonzero()
        np.testing.assert_array_equal(back.predict(u, i), m.predict(u, i))


def test_training_matrix_is_passed_in_not_saved(fitted_all, data, tmp_path):
    X = data[0]
    m = fitted_all["itemknn"]
    m.save(tmp_path / "m.npz")
    detached = Recommender.load(tmp_path / "m.npz")
    assert detached.similar_items(np.arange(3), 2)[0].shape == (3, 2)  # needs no matrix
    assert detached.recommend_new(X[:2], k=3)[0].shape == (2, 3)
    with pytest.raises(NoTrainingMatrix, match="load\\(path, train=matrix\\)"):
        detached.recommend(k=3)
    other = X.copy()
    other.data[0] += 1
    with pytest.raises(ValueError, match="not the one the model was fit on"):
        detached.attach(other)
    np.testing.assert_array_equal(detached.attach(X).recommend(k=3)[0], m.recommend(k=3)[0])


def test_files_that_are_not_plain_model_arrays_are_refused(fitted_all, tmp_path):
    import joblib

    m = fitted_all["popularity"]
    m.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz", allow_pickle=False) as npz:
        parts = {k: npz[k] for k in npz.files}
    # an object array (numpy pickles it) smuggled into a model file
    np.savez(tmp_path / "evil.npz", **parts, extra_=np.array([{"x": 1}], dtype=object))
    header, _ = store.read(tmp_path / "good.npz")
    header["state"] = {"popularity_": {"kind": "array"}}
    with open(tmp_path / "evil2.npz", "wb") as fh:
        np.savez(fh, __header__=np.array(__import__("json").dumps(header)),
                 popularity_=np.array([object()], dtype=object))
    with pytest.raises(store.ModelFileError, match="evil2.npz: array 'popularity_' is a pickled "
                                                   "object array"):
        Recommender.load(tmp_path / "evil2.npz")
    Recommender.load(tmp_path / "evil.npz")  # unlisted arrays are never read
    joblib.dump(m, tmp_path / "old.joblib")
    with pytest.raises(store.ModelFileError, match="old.joblib: not a tastemap model file"):
        Recommender.load(tmp_path / "old.joblib")
    header["family"], header["class"] = "toyx", "evil_module:Toy"
    with open(tmp_path / "alien.npz", "wb") as fh:
        np.savez(fh, __header__=np.array(__import__("json").dumps(header)), **{
            k: v for k, v in parts.items() if k != "__header__"})
    with pytest.raises(store.ModelFileError, match="family 'toyx' .*neither tastemap's nor imported"):
        Recommender.load(tmp_path / "alien.npz")
    with pytest.raises(TypeError, match="holds a Popularity, not a ALS"):
        registry.get("als").load(tmp_path / "good.npz")


def test_capability_table_in_docs_matches_the_declarations():
    text = (REPO / "docs" / "models.md").read_text()
    assert registry.capabilities_markdown() in text, (
        "docs/models.md: paste the output of `python -m tastemap.models.registry`")


def test_outside_families_are_imported_only_when_named(tmp_path, monkeypatch, data):
    (tmp_path / "outside_pop.py").write_text(
        "from tastemap.models import register\n"
        "from tastemap.models.popularity import Popularity\n\n\n"
        "@register('outsidepop')\nclass OutsidePop(Popularity):\n    sweep_prefixes = {'by': 'b'}\n")
    monkeypatch.setattr(sys, "path", list(sys.path))  # get() appends the working directory
    monkeypatch.chdir(tmp_path)  # the workflow's working directory is searched too
    with pytest.raises(ValueError, match="models.als.module: als is one of tastemap's own"):
        registry.get("als", "outside_pop")
    with pytest.raises(ModuleNotFoundError, match="models.other.module: no module 'nosuch'"):
        registry.get("other", "nosuch")
    with pytest.raises(ValueError, match="models.other.module: outside_pop registers no model "
                                         "named 'other'"):
        registry.get("other", "outside_pop")
    cls = registry.get("outsidepop", "outside_pop")
    assert list(registry.variants("outsidepop", {"module": "outside_pop", "by": ["users"]})) == ["busers"]
    m = cls().fit(data[0])
    m.save(tmp_path / "m.npz")
    from tastemap.pipeline.fit import load_model

    back = load_model(tmp_path / "m.npz", "outsidepop", "outside_pop", train=data[0])
    np.testing.assert_array_equal(back.recommend(k=3)[0], m.recommend(k=3)[0])
    with pytest.raises(ValueError, match="holds a outsidepop model, expected popularity"):
        load_model(tmp_path / "m.npz", "popularity")
