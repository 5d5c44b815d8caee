"""PyTorch recommenders (mf, item2vec, sgns, twotower) on a small planted-genre matrix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
import yaml
from conftest import TINY_CONFIG, dry_run_jobs, dry_run_outputs
from sklearn.linear_model import Ridge

from tastemap.data.matrices import load_matrix
from tastemap.data.split import holdout
from tastemap.evaluate.metrics import evaluate_recommendations
from tastemap.models import MODELS, make, specs
from tastemap.models._torch import History, mean_of_rows, torch_session, unit_rows
from tastemap.models.base import Recommender
from tastemap.models.item2vec import Item2Vec, cooccurrence_distributions, sample_context_pairs
from tastemap.models.mf import BiasedMF
from tastemap.models.tables import history_table

N_USERS, N_ITEMS, N_GENRES = 200, 80, 4
USER_GENRE = np.arange(N_USERS) % N_GENRES
ITEM_GENRE = np.arange(N_ITEMS) % N_GENRES

#: small, fast settings per model (the test matrix has 200 x 80 entries, ~1,500 stored)
FAST = {
    "mf": dict(factors=8, epochs=30, batch_size=128, learning_rate=0.05, negatives=4),
    "item2vec": dict(factors=4, epochs=30, batch_size=16, learning_rate=0.05),
    "sgns": dict(factors=8, epochs=5, batch_size=256, learning_rate=0.05),
    "twotower": dict(factors=16, hidden=32, epochs=8, batch_size=128),
}


def planted(seed: int = 0) -> sp.csr_matrix:
    """200 users x 80 items, 4 genres (user u and item i belong to genre u % 4, i % 4).
    A user plays an item of their genre with p = 0.35 (about 20 plays on average) and any other
    item with p = 0.02 (about 2 plays): genre shows in both what and how much is played."""
    rng = np.random.default_rng(seed)
    same = USER_GENRE[:, None] == ITEM_GENRE[None, :]
    played = rng.random((N_USERS, N_ITEMS)) < np.where(same, 0.35, 0.02)
    plays = np.where(same, rng.geometric(0.05, played.shape), rng.geometric(0.5, played.shape))
    return sp.csr_matrix((plays * played).astype(np.float32))


@pytest.fixture(scope="module")
def X() -> sp.csr_matrix:
    return planted()


@pytest.fixture(scope="module")
def fitted(X) -> dict[str, Recommender]:
    return {name: make(name, random_state=3, **params).fit(X) for name, params in FAST.items()}


def one_genre_user(genre: int, n: int = 5) -> sp.csr_matrix:
    items = np.flatnonzero(ITEM_GENRE == genre)[:n]
    return sp.csr_matrix((np.full(n, 10.0, np.float32), (np.zeros(n, int), items)), shape=(1, N_ITEMS))


# -- shared behaviour of every torch model ---------------------------------------------------
def test_registered():
    specs()
    for name in FAST:
        assert name in MODELS
    assert isinstance(make("mf", factors=4), BiasedMF)


@pytest.mark.parametrize("name", list(FAST))
def test_history_schema(fitted, name):
    table = history_table(list(fitted[name].history_))  # what the workflow writes
    assert table.schema.names == ["epoch", "split", "metric", "value"]
    assert [str(t) for t in table.schema.types] == ["int32", "string", "string", "double"]
    h = table.to_pandas()
    assert set(h["split"]) <= {"train", "valid"}
    train_loss = h[(h.split == "train") & (h.metric == "loss")]
    assert train_loss.epoch.tolist() == list(range(1, FAST[name]["epochs"] + 1))
    assert np.isfinite(h.value).all()
    # the objective goes down
    assert train_loss.value.iloc[-1] < train_loss.value.iloc[0]


@pytest.mark.parametrize("name", list(FAST))
def test_similar_items_same_genre(fitted, name):
    ids, scores = fitted[name].similar_items(np.arange(N_ITEMS), k=10)
    assert ids.shape == (N_ITEMS, 10)
    assert not (ids == np.arange(N_ITEMS)[:, None]).any()  # never itself
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    share = (ITEM_GENRE[ids] == ITEM_GENRE[:, None]).mean()
    assert share >= 0.8, f"{name}: only {share:.2f} of the top-10 neighbours share the genre"


@pytest.mark.parametrize("name", list(FAST))
def test_recommendations_exclude_played_and_follow_genre(fitted, X, name):
    items, scores = fitted[name].recommend(k=10)
    assert items.shape == (N_USERS, 10)
    played = X.toarray() > 0
    assert not played[np.arange(N_USERS)[:, None], items].any()
    assert (ITEM_GENRE[items] == USER_GENRE[:, None]).mean() >= 0.6


@pytest.mark.parametrize("name", list(FAST))
def test_fold_in_one_genre_user(fitted, name):
    for genre in range(N_GENRES):
        new = one_genre_user(genre)
        items, _ = fitted[name].recommend_new(new, k=10)
        assert not np.isin(items, new.indices).any()
        assert (ITEM_GENRE[items[0]] == genre).sum() >= 8, (name, genre, ITEM_GENRE[items[0]])


@pytest.mark.parametrize("name", list(FAST))
def test_save_load_round_trip(fitted, X, tmp_path, name):
    model = fitted[name]
    path = tmp_path / f"{name}.npz"
    model.save(path)
    back = type(model).load(path, train=X)
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(back._score(users), model._score(users))
    np.testing.assert_array_equal(back.recommend(k=5)[0], model.recommend(k=5)[0])
    new = one_genre_user(1)
    np.testing.assert_array_equal(back._score_new(new), model._score_new(new))
    np.testing.assert_array_equal(back.item_factors, model.item_factors)
    with pytest.raises(TypeError):
        BiasedMF.load(path) if name != "mf" else Item2Vec.load(path)


@pytest.mark.parametrize("name", list(FAST))
def test_same_seed_same_numbers(fitted, X, name):
    again = make(name, random_state=3, **FAST[name]).fit(X)
    first = fitted[name]
    np.testing.assert_array_equal(again.item_factors, first.item_factors)
    np.testing.assert_array_equal(again.user_factors, first.user_factors)
    assert again.history_ == first.history_
    other = make(name, random_state=4, **FAST[name]).fit(X)
    assert not np.array_equal(other.item_factors, first.item_factors)


def test_torch_session_restores_settings():
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    with torch_session(5, num_threads=1) as gen:
        assert torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled()
        a = torch.rand(3, generator=gen)
    with torch_session(5, num_threads=1) as gen:
        b = torch.rand(3, generator=gen)
    assert torch.equal(a, b)
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before
    with pytest.raises(ValueError, match="random_state"):
        with torch_session(-1):
            pass


def test_history_frame_empty_and_rows():
    h = History()
    assert h.frame().empty and [str(t) for t in h.frame().dtypes] == ["int32", "str", "str", "float64"]
    h.add(1, "valid", "rmse", 0.5)
    assert h.frame().to_dict("records") == [{"epoch": 1, "split": "valid", "metric": "rmse", "value": 0.5}]
    with pytest.raises(ValueError, match="split"):
        h.add(1, "test", "rmse", 0.5)


def test_mean_of_rows_and_unit_rows():
    vec = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(unit_rows(vec), [[0.6, 0.8], [0, 0], [1, 0]])
    rows = sp.csr_matrix(np.array([[5, 0, 2], [0, 0, 0]], dtype=np.float32))
    np.testing.assert_allclose(mean_of_rows(rows, vec), [[2.0, 2.0], [0.0, 0.0]])


# -- quality: what the four models got wrong before (each test fails on the old code) -------
def planted_popular(seed: int = 0, n_users: int = 300, n_items: int = 120) -> sp.csr_matrix:
    """Popularity *and* taste: 4 genres as in ``planted``, item popularity Zipf-like within each
    genre (the r-th item of a genre has weight 1/r), a user plays an item with probability
    ``1.5 * weight`` in their genre and a tenth of that elsewhere. The best top-10 is the
    user's genre's popular items; popularity alone gets the popular items of every genre."""
    rng = np.random.default_rng(seed)
    genre_u, genre_i = np.arange(n_users) % N_GENRES, np.arange(n_items) % N_GENRES
    weight = 1.0 / (np.arange(n_items) // N_GENRES + 1.0)
    p = 1.5 * weight[None, :] * np.where(genre_u[:, None] == genre_i[None, :], 1.0, 0.1)
    played = rng.random(p.shape) < np.minimum(p, 0.95)
    return sp.csr_matrix((rng.geometric(0.3, p.shape) * played).astype(np.float32))


def held_out_ndcg(model: Recommender, train: sp.csr_matrix, test: sp.csr_matrix) -> float:
    """nDCG@10 of ``model`` (fitted on ``train``) on ``test``, as the workflow computes it."""
    ids, _ = model.recommend(k=10)
    ok = ids >= 0
    recs = pd.DataFrame({"user_idx": np.repeat(np.arange(len(ids)), 10)[ok.ravel()],
                         "rank": np.tile(np.arange(1, 11), len(ids))[ok.ravel()],
                         "item_idx": ids[ok]})
    per_user, _ = evaluate_recommendations(recs, train, test, [10])
    return float(per_user["ndcg@10"].mean())


@pytest.fixture(scope="module")
def popular_split():
    return holdout(planted_popular(), 0.2, 5, seed=0)


@pytest.mark.parametrize("name", list(FAST))
def test_beats_popularity_on_held_out_items(popular_split, name):
    """The issue's failure in miniature: before the fixes, item2vec, sgns and two-tower ranked by
    cosine only (or learnt against popularity-sampled negatives) and MF learnt play amounts
    from one negative per play; all four scored below popularity here (0.16-0.24 against 0.25).
    """
    train, test = popular_split
    base = held_out_ndcg(make("popularity").fit(train), train, test)
    score = held_out_ndcg(make(name, random_state=0, **FAST[name]).fit(train), train, test)
    assert score > 1.1 * base, f"{name}: nDCG@10 {score:.3f}, popularity {base:.3f}"


def popularity_only(seed: int = 0, n_users: int = 400, n_items: int = 60) -> sp.csr_matrix:
    """No taste at all: every user plays item ``i`` with probability ``0.6 / (1 + i / 6)``."""
    rng = np.random.default_rng(seed)
    p = 0.6 / (1.0 + np.arange(n_items) / 6.0)
    return sp.csr_matrix((rng.random((n_users, n_items)) < p[None, :]).astype(np.float32))


@pytest.mark.parametrize("name", list(FAST))
def test_popularity_only_data_ranks_by_popularity(name):
    """Where popularity is the only signal, a model that estimates p(item | user) must rank by
    it. The old scoring could not: cosine of embeddings (item2vec, sgns) and the two-tower's
    uncorrected in-batch softmax (which learns p(i | u) / q(i)) ranked these items at random."""
    import scipy.stats

    X = popularity_only()
    model = make(name, random_state=0, **FAST[name]).fit(X)
    mean_score = model._score(np.arange(X.shape[0])).mean(axis=0)
    rho = scipy.stats.spearmanr(mean_score, -np.arange(X.shape[1])).statistic
    assert rho > 0.8, f"{name}: Spearman {rho:.2f} between mean score and popularity"


def test_sgns_negatives_follow_listeners_to_the_three_quarters():
    from tastemap.models._train import draw

    listeners = np.array([0, 1, 5, 20, 0, 100], dtype=np.float64)
    noise = listeners**0.75
    cdf = torch.from_numpy(np.cumsum(noise / noise.sum()))
    ids = draw(cdf, 200_000, torch.Generator().manual_seed(0)).numpy()
    freq = np.bincount(ids, minlength=len(listeners)) / len(ids)
    assert freq[listeners == 0].sum() == 0  # never an item without listeners
    np.testing.assert_allclose(freq, noise / noise.sum(), atol=0.005)


def test_sgns_and_item2vec_score_is_their_log_probability(X):
    """Score of a one-item user = the model's own logit for the next item: SGNS
    ``e_i . c_j + log P_n(j)`` (P_n = listeners ** 0.75), item2vec the log-softmax of its output
    layer up to a constant. After training, it follows the data's conditional
    ``log p(j | i)`` (row ``i`` of the per-entry co-occurrence: the pairs SGNS samples and
    item2vec's default target; Spearman over the items that share a listener)."""
    import scipy.stats

    target = cooccurrence_distributions(X, "per_entry").toarray()
    for name, params in (("sgns", dict(factors=16, epochs=20, learning_rate=0.05)),
                         ("item2vec", dict(factors=16, epochs=200, batch_size=16))):
        m = make(name, random_state=0, **params).fit(X)
        listeners = np.diff(sp.csc_matrix(X > 0).indptr)
        if name == "sgns":
            noise = listeners**0.75
            np.testing.assert_allclose(m.context_bias_, np.log(noise / noise.sum()), rtol=1e-5)
        rhos = []
        for i in range(0, N_ITEMS, 8):
            one = sp.csr_matrix(([1.0], ([0], [i])), shape=(1, N_ITEMS), dtype=np.float32)
            score = m._score_new(one)[0]
            logit = m.item_factors[i] @ m.context_factors_.T + m.context_bias_
            np.testing.assert_allclose(score, logit, rtol=1e-5, atol=1e-5)
            seen = target[i] > 0
            seen[i] = False
            rhos.append(scipy.stats.spearmanr(score[seen], np.log(target[i, seen])).statistic)
        assert np.mean(rhos) > 0.6, (name, np.round(rhos, 2))


def test_row_mean_sgd_moves_each_row_by_its_mean_gradient():
    from torch import nn

    from tastemap.models._train import RowMeanSGD

    table = nn.Embedding(4, 2, sparse=True)
    with torch.no_grad():
        table.weight.zero_()
    idx = torch.tensor([1, 1, 1, 3, 1])
    coef = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]])
    (table(idx) * coef).sum().backward()  # gradient of lookup k = coef[k]
    RowMeanSGD([table.weight], lr=0.5).step()
    expected = np.zeros((4, 2))
    expected[1] = -0.5 * coef[[0, 1, 2, 4]].numpy().mean(axis=0)  # 4 lookups: mean, not sum
    expected[3] = -0.5 * coef[3].numpy()
    np.testing.assert_allclose(table.weight.detach().numpy(), expected, rtol=1e-6)


def test_fit_loop_batches_every_example_once_per_epoch():
    from tastemap.models._train import fit_loop

    seen, history = [], History()
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)

    def batch_loss(sel):
        seen.append(sel.clone())
        loss = ((w - 1.0) ** 2).sum() * len(sel)
        return loss, float(loss.detach()), float(len(sel))

    fit_loop(batch_loss, [opt], epochs=3, batch_size=4, gen=torch.Generator().manual_seed(0),
             history=history, name="test", examples=10,
             after_epoch=lambda e: {("valid", "w"): float(w.detach())})
    epochs = [torch.cat(seen[3 * e : 3 * e + 3]).sort().values for e in range(3)]
    assert all(torch.equal(e, torch.arange(10)) for e in epochs)  # 3 batches (4 + 4 + 2) each
    assert not torch.equal(torch.cat(seen[:3]), torch.cat(seen[3:6]))  # reshuffled
    h = history.frame()
    assert h[h.metric == "loss"].epoch.tolist() == [1, 2, 3]
    assert h[h.metric == "loss"].value.is_monotonic_decreasing
    assert h[h.metric == "w"].split.tolist() == ["valid"] * 3


def test_public_model_modules_do_not_import_torch():
    """The workflow reads every model class when it parses the Snakefile: no torch there."""
    import subprocess
    import sys

    code = ("import sys, tastemap.models.mf, tastemap.models.item2vec, tastemap.models.twotower; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- biased MF -------------------------------------------------------------------------------
def low_rank_plays(seed: int = 0, n_users: int = 300, n_items: int = 100) -> sp.csr_matrix:
    """30% of a users x items grid observed, log(1 + plays) = 2 + b_u + b_i + p_u . q_i (rank 3)
    + small noise: a matrix MF can fit."""
    rng = np.random.default_rng(seed)
    logp = (2.0 + rng.normal(0, 0.5, (n_users, 1)) + rng.normal(0, 0.5, (1, n_items))
            + rng.normal(0, 0.6, (n_users, 3)) @ rng.normal(0, 0.6, (3, n_items))
            + rng.normal(0, 0.1, (n_users, n_items)))
    plays = np.maximum(1, np.round(np.expm1(np.clip(logp, 0.5, None))))
    return sp.csr_matrix((plays * (rng.random((n_users, n_items)) < 0.3)).astype(np.float32))


def test_mf_rmse_decreases_and_predict_formula():
    Y = low_rank_plays()
    m = BiasedMF(factors=8, epochs=15, batch_size=256, negatives=0, valid_fraction=0.1,
                 random_state=0).fit(Y)
    h = History()
    h.rows = m.history_
    h = h.frame()
    valid = h[(h.split == "valid") & (h.metric == "rmse")].value.to_numpy()
    train = h[(h.split == "train") & (h.metric == "rmse")].value.to_numpy()
    assert len(valid) == 15 and valid[-1] < 0.8 * valid[0] and train[-1] < 0.8 * train[0]
    # held-out RMSE clearly below predicting the global mean
    assert valid[-1] < 0.7 * np.log1p(Y.data).std()
    u, i = np.array([0, 5, 7]), np.array([3, 3, 60])
    expected = (m.global_mean_ + m.user_bias_[u] + m.item_bias_[i]
                + (m.user_factors[u] * m.item_factors[i]).sum(1))
    np.testing.assert_allclose(m.predict(u, i), expected, rtol=1e-6)
    np.testing.assert_allclose(m._score(u)[np.arange(3), i], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        m.predict(u, i[:2])
    assert 0 < m.global_mean_ < np.log1p(Y.data).max()


def test_mf_fold_in_is_exact_ridge(X):
    """With negatives = 0 the fold-in is the ridge regression of (log plays - mu - b_i) on
    [q_i, 1] with alpha = reg * n_played: compare with scikit-learn."""
    m = BiasedMF(factors=6, epochs=5, batch_size=128, negatives=0, regularization=0.05,
                 random_state=2).fit(X)
    new = one_genre_user(2, n=7)
    new.data[:] = np.arange(1, 8)
    items = new.indices
    Xd = np.hstack([m.item_factors[items], np.ones((7, 1))]).astype(np.float64)
    y = np.log1p(new.data) - m.global_mean_ - m.item_bias_[items]
    ridge = Ridge(alpha=0.05 * 7, fit_intercept=False, solver="cholesky").fit(Xd, y)
    p, b = ridge.coef_[:6], ridge.coef_[6]
    expected = m.global_mean_ + b + m.item_bias_ + m.item_factors @ p
    np.testing.assert_allclose(m._score_new(new)[0], expected, rtol=1e-4, atol=1e-5)


def test_mf_errors_name_the_key(X):
    with pytest.raises(ValueError, match="mf.valid_fraction"):
        BiasedMF(valid_fraction=1.5).fit(X)
    with pytest.raises(ValueError, match="mf.factors"):
        BiasedMF(factors=0).fit(X)
    with pytest.raises(TypeError, match="scipy sparse"):
        BiasedMF().fit(X.toarray())


# -- item2vec (course variant) ---------------------------------------------------------------
def test_cooccurrence_distributions_exact():
    B = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1]], dtype=np.float32))
    C = cooccurrence_distributions(B).toarray()
    np.testing.assert_allclose(C, [[0, 2 / 3, 1 / 3, 0], [2 / 3, 0, 1 / 3, 0],
                                   [0.5, 0.5, 0, 0], [0, 0, 0, 0]], rtol=1e-6)


def test_cooccurrence_distributions_per_entry_weights_each_users_pairs():
    """per_entry: a user with n items adds 1/(n-1) per pair, so the 4-item user's pairs no
    longer outweigh the 2-item user's (count: 1 pair each; here the 2-item user's pair 0-1
    weighs 1, the 4-item user's pairs 1/3 each)."""
    B = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=np.float32))
    count = cooccurrence_distributions(B).toarray()
    per_entry = cooccurrence_distributions(B, "per_entry").toarray()
    np.testing.assert_allclose(count[0], [0, 2 / 4, 1 / 4, 1 / 4], rtol=1e-6)
    np.testing.assert_allclose(per_entry[0], [0, (1 + 1 / 3) / (1 + 3 / 3), (1 / 3) / 2, (1 / 3) / 2],
                               rtol=1e-6)
    np.testing.assert_allclose(per_entry[2], [1 / 3, 1 / 3, 0, 1 / 3], rtol=1e-6)
    with pytest.raises(ValueError, match="item2vec.cooccurrence"):
        cooccurrence_distributions(B, "pairs")


@pytest.mark.parametrize("exponent", [0.0, 0.75, 1.0])
def test_sgns_ns_exponent_sets_noise_and_score_bias(X, exponent):
    """The noise of the negatives is listeners ** ns_exponent, and the score adds back its log."""
    m = make("sgns", random_state=0, factors=2, epochs=1, ns_exponent=exponent).fit(X)
    listeners = np.diff(sp.csc_matrix(X > 0).indptr).astype(np.float64)
    noise = np.where(listeners > 0, listeners**exponent, 0.0)
    has = listeners > 0
    np.testing.assert_allclose(m.context_bias_[has], np.log(noise[has] / noise.sum()), rtol=1e-5)


def test_item2vec_max_items_restricts_training(X):
    m = Item2Vec(factors=8, epochs=20, batch_size=16, max_items=40, random_state=0).fit(X)
    listeners = np.diff(X.tocsc().indptr)
    top = set(np.argsort(-listeners, kind="stable")[:40].tolist())
    assert set(m.trained_items_.tolist()) <= top and len(m.trained_items_) == 40
    rest = np.setdiff1d(np.arange(N_ITEMS), m.trained_items_)
    assert np.linalg.norm(m.item_factors[rest], axis=1).min() > 0  # tail items got vectors
    ids, _ = m.similar_items(rest, k=10)
    assert (ITEM_GENRE[ids] == ITEM_GENRE[rest][:, None]).mean() >= 0.7


def test_item2vec_item_without_listeners_gets_zero_vector(X):
    Y = X.tolil()
    Y[:, 5] = 0
    m = Item2Vec(factors=4, epochs=2, batch_size=16, random_state=0).fit(Y.tocsr())
    assert not m.item_factors[5].any()


# -- sgns --------------------------------------------------------------------------------------
def test_sample_context_pairs_same_user_never_self():
    csr = sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 0, 1], [1, 0, 0, 1]], dtype=np.float32))
    c, ctx = sample_context_pairs(csr, 50, np.random.default_rng(0))
    assert len(c) == (3 + 2) * 50  # the one-item user gives no pairs
    assert not (c == ctx).any()
    allowed = {(a, b) for row in ([0, 1, 2], [0, 3]) for a in row for b in row if a != b}
    assert set(zip(c.tolist(), ctx.tolist())) == allowed  # every allowed pair, nothing else


# -- two-tower ----------------------------------------------------------------------------------
def test_twotower_fold_in_of_known_row_equals_user_score(fitted, X):
    m = fitted["twotower"]
    users = np.array([0, 17, 101])
    np.testing.assert_allclose(m._score_new(X[users]), m._score(users), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(m.item_factors, axis=1), 1.0, rtol=1e-5)
    empty = sp.csr_matrix((1, N_ITEMS), dtype=np.float32)
    assert not m._score_new(empty).any()


# -- sweep table and figures -------------------------------------------------------------------
def test_last_epoch_metric_and_figures():
    from tastemap.models.mf import last_epoch_metric
    from tastemap.viz.charts import factor_sweep, loss_curves

    def hist(train, valid):
        rows = [(e + 1, "train", "rmse", v) for e, v in enumerate(train)]
        rows += [(e + 1, "valid", "rmse", v) for e, v in enumerate(valid)]
        rows += [(e + 1, "train", "loss", 2 * v) for e, v in enumerate(train)]
        h = History()
        h.rows = rows
        return h.frame()

    table = last_epoch_metric({16: hist([0.9, 0.5], [1.0, 0.8]), 8: hist([0.9, 0.6], [1.0, 0.7])})
    assert table.to_dict("records") == [
        {"factors": 8, "split": "train", "epoch": 2, "value": 0.6},
        {"factors": 8, "split": "valid", "epoch": 2, "value": 0.7},
        {"factors": 16, "split": "train", "epoch": 2, "value": 0.5},
        {"factors": 16, "split": "valid", "epoch": 2, "value": 0.8},
    ]
    fig = factor_sweep(table, title="sweep")
    ax = fig.axes[0]
    assert ax.get_title() == "sweep" and ax.get_xlabel() == "latent factors" and ax.get_ylabel()
    assert "best valid: 8 factors" in [t.get_text() for t in ax.get_legend().get_texts()]
    fig = loss_curves(hist([0.9, 0.5], [1.0, 0.8]), title="curves")
    assert [a.get_ylabel() for a in fig.axes] == ["rmse", "loss"]
    assert all(a.get_xlabel() == "epoch" for a in fig.axes)
    empty = loss_curves(History().frame(), title="none")
    assert len(empty.axes) == 1 and empty.axes[0].get_xlabel() == "epoch"


def test_effective_threads():
    from tastemap.models._torch import effective_threads

    assert effective_threads(2, 10_000) == 1
    assert effective_threads(2, 1_500_000) == 1
    assert effective_threads(2, 17_500_000) == 2
    assert effective_threads(8, 3_000_000) == 3


# -- workflow ----------------------------------------------------------------------------------
@pytest.mark.workflow
def test_dry_run_plans_loss_curves_and_sweep(workdir):
    planned = dry_run_outputs(workdir)
    # families with a loss curve in tiny.yaml: mf x 2 sizes and als on both entities, item2vec,
    # sgns, twotower, bpr on artist only; (2 x 2 + 2 + 4) runs x (full, train) fits, drawn by
    # one job per seed with the MF sweeps
    assert len([p for p in planned if p.endswith("/loss.png")]) == 20
    assert len([p for p in planned if p.endswith("/mf/seed0/sweep_factors.png")]) == 2
    assert dry_run_jobs(workdir)["model_figures"] == 1
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    cfg.setdefault("models", {}).setdefault("mf", {})["enabled"] = False
    (workdir / "no_mf.yaml").write_text(yaml.safe_dump(cfg))
    planned = dry_run_outputs(workdir, configfile=workdir / "no_mf.yaml")
    assert len([p for p in planned if p.endswith("/loss.png")]) == 12
    assert not [p for p in planned if "/mf/seed0/sweep_factors" in p]


@pytest.mark.workflow
def test_tiny_run_torch_outputs(tiny_run):
    res = tiny_run / "results" / "tiny" / "models"
    for entity in ("artist", "song"):
        table = pd.read_csv(res / entity / "mf" / "seed0" / "sweep_factors.csv")
        assert sorted(set(table["factors"])) == [8, 16]  # tiny.yaml
        assert set(table["split"]) == {"train", "valid"}
        assert (res / entity / "mf" / "seed0" / "sweep_factors.png").stat().st_size > 0
        torch_runs = ("item2vec/f16", "sgns/f16", "twotower/f32") if entity == "artist" else ()
        runs = ("mf/f8", "mf/f16") + torch_runs
        for mv in runs:
            for fit in ("full", "train"):
                d = res / entity / mv / "seed0" / fit
                assert (d / "loss.png").stat().st_size > 0
                h = pd.read_parquet(d / "history.parquet")
                assert len(h) and set(h["split"]) <= {"train", "valid"}
            plays = load_matrix(res.parent / "matrices" / f"user_{entity}.npz")
            model = Recommender.load(res / entity / mv / "seed0" / "full" / "model.npz", train=plays)
            recs = pd.read_parquet(res / entity / mv / "seed0" / "full" / "recommendations.parquet")
            assert not np.asarray(plays[recs["user_idx"].to_numpy(), recs["item_idx"].to_numpy()]).any()
            first = recs[recs["user_idx"] == recs["user_idx"].iloc[0]]
            ids, _ = model.recommend(first["user_idx"].to_numpy()[:1], k=len(first))
            assert ids[0].tolist() == first["item_idx"].tolist()  # the loaded model, same list



def _batch_rows(seed: int = 0):
    """A random binary users x items matrix and a batch of its (user, played item) pairs, some
    users and items repeated: ``(B, users, positives, bag, lengths)``."""
    from tastemap.models._train import _row_items

    rng = np.random.default_rng(seed)
    B = sp.csr_matrix((rng.random((40, 30)) < rng.uniform(0.05, 0.9, (40, 1))).astype(np.float32))
    B.sort_indices()
    users = rng.choice(np.flatnonzero(np.diff(B.indptr) >= 2), 25)
    positives = np.array([rng.choice(B.indices[B.indptr[u]:B.indptr[u + 1]]) for u in users])
    bag, _ = _row_items(B, users)
    return B, users, positives, bag, np.diff(B.indptr)[users]


def test_played_mask_is_the_dense_submatrix():
    """The two-tower's negatives mask: ``mask[b, c]`` is whether ``users[b]`` played the item of
    pair ``c`` (repeated items in the batch included), the same as indexing the dense matrix."""
    from tastemap.models._train import played_mask

    B, users, positives, bag, lengths = _batch_rows()
    expected = B.toarray()[users][:, positives] > 0
    np.testing.assert_array_equal(played_mask(bag, lengths, positives), expected)


@pytest.mark.parametrize("cap", [None, 3, 100])
def test_history_bags_leave_out_the_positive_and_keep_cap_items(cap):
    """Each pair's bag holds only the user's other items: all of them, or ``cap`` draws (with
    replacement) for users with more than ``cap``."""
    from tastemap.models._train import history_bags

    B, users, positives, bag, lengths = _batch_rows()
    items, offsets = history_bags(bag, lengths, positives, cap, torch.Generator().manual_seed(0))
    ends = np.append(offsets[1:], len(items))
    for b, u in enumerate(users):
        others = set(B.indices[B.indptr[u]:B.indptr[u + 1]]) - {positives[b]}
        got = items[offsets[b]:ends[b]]
        assert set(got) <= others
        if cap is None or len(others) <= cap:
            assert sorted(got) == sorted(others)
        else:
            assert len(got) == cap


def test_history_bags_draw_every_other_item_alike():
    """Over many batches the sampled history of a heavy user covers each of its other items
    about equally often (uniform draws), and never the positive."""
    from tastemap.models._train import history_bags

    row = np.arange(0, 40, 2, dtype=np.int64)  # 20 items, the positive is item 10
    gen = torch.Generator().manual_seed(0)
    counts = np.zeros(40)
    for _ in range(400):
        got, _ = history_bags(row, np.array([20]), np.array([10]), 4, gen)
        np.add.at(counts, got, 1)
    others = counts[np.setdiff1d(row, [10])]
    assert counts[10] == 0 and counts.sum() == 1600
    assert others.min() > 0.6 * others.mean() and others.max() < 1.4 * others.mean()
