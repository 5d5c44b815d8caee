"""Topics stage: LDA fit, coherence, perplexity, purity, LDA as a recommender, and the workflow."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from conftest import TINY_CONFIG, dry_run_jobs

from tastemap.data.matrices import sample_rows
from tastemap.models import make
from tastemap.models.lda import LDA
from tastemap.topics import model as T
from tastemap.topics import quality as Q


def planted(n_users=160, n_items=120, g=4, per_user=25, seed=0):
    """Users x items play counts with ``g`` planted genres (item genre = index % g): each user
    plays mostly their own genre, popular items more often, with heavy-tailed play counts."""
    rng = np.random.default_rng(seed)
    genre = np.arange(n_items) % g
    pop = 1.0 / (1 + np.arange(n_items)) ** 0.8
    ugenre = rng.integers(0, g, n_users)
    rows, cols, vals = [], [], []
    for u in range(n_users):
        w = pop * np.where(genre == ugenre[u], 1.0, 0.02)
        items = rng.choice(n_items, size=per_user, replace=False, p=w / w.sum())
        rows += [u] * per_user
        cols += list(items)
        vals += list(np.floor(rng.pareto(1.2, per_user) * 3) + 1)
    X = sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(n_users, n_items))
    return X, genre, ugenre


# ---- counts ----------------------------------------------------------------------------------


def test_transform_counts_exact():
    X = sp.csr_matrix(np.array([[1.0, 0, 3], [0, 7, 0]], dtype=np.float32))
    assert T.transform_counts(X, "raw").toarray().tolist() == [[1, 0, 3], [0, 7, 0]]
    assert T.transform_counts(X, "binary").toarray().tolist() == [[1, 0, 1], [0, 1, 0]]
    assert T.transform_counts(X, "log").toarray().tolist() == [[1, 0, 2], [0, 3, 0]]
    with pytest.raises(ValueError, match="counts 'sqrt'"):
        T.transform_counts(X, "sqrt")


# ---- coherence on a hand-made co-occurrence example ---------------------------------------------
# 4 users, 3 items: D(0)=3, D(1)=3, D(2)=2, D(0,1)=2, D(0,2)=1, D(1,2)=2.
HAND = sp.csr_matrix(np.array([[1, 1, 0], [2, 1, 5], [1, 0, 0], [0, 3, 1]], dtype=np.float32))


def test_umass_exact():
    # ranked pairs (m > l): (1,0): log(3/3); (2,0): log(2/3); (2,1): log(3/3)
    got = Q.umass_coherence(HAND, np.array([[0, 1, 2]]))
    assert got[0] == pytest.approx(math.log(2 / 3) / 3, abs=1e-12)
    # the order of the ranking matters: with item 2 ranked first, D(v_l) = D(2) = 2 appears
    got = Q.umass_coherence(HAND, np.array([[2, 1, 0]]))
    expected = (math.log(3 / 2) + math.log(2 / 2) + math.log(3 / 3)) / 3
    assert got[0] == pytest.approx(expected, abs=1e-12)


def test_npmi_exact():
    got = Q.npmi_coherence(HAND, np.array([[0, 1, 2], [0, 2, 1]]))
    expected = (math.log(8 / 9) / math.log(2) + math.log(2 / 3) / math.log(4)
                + math.log(4 / 3) / math.log(2)) / 3
    assert got == pytest.approx([expected, expected], abs=1e-12)
    # never together -> -1; always together -> +1
    apart = sp.csr_matrix(np.array([[1, 0], [0, 1]], dtype=np.float32))
    together = sp.csr_matrix(np.array([[1, 1], [1, 1]], dtype=np.float32))
    assert Q.npmi_coherence(apart, np.array([[0, 1]]))[0] == -1.0
    assert Q.npmi_coherence(together, np.array([[0, 1]]))[0] == 1.0


# ---- perplexity protocol ----------------------------------------------------------------------


def test_heldout_perplexity_exact():
    theta = np.array([[1.0, 0.0], [0.5, 0.5]])
    phi = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    test = sp.csr_matrix(np.array([[2.0, 0, 0], [0, 0, 1.0]]))
    # p(u0, i0) = 0.5 (count 2), p(u1, i2) = 0.25 (count 1): exp(-(2 log .5 + log .25) / 3)
    assert Q.heldout_perplexity(theta, phi, test) == pytest.approx(2 ** (4 / 3), rel=1e-12)
    # chunking does not change the sum
    assert Q.log_likelihood(theta, phi, test, chunk=1) == pytest.approx(4 * math.log(0.5))
    with pytest.raises(ValueError, match="no held-out"):
        Q.heldout_perplexity(theta, phi, sp.csr_matrix((2, 3)))


def planted_heldout():
    """The planted matrix and a seeded 80/20 split of its entries: ``(X, train, test)``."""
    X, _, _ = planted()
    coo = X.tocoo()
    held = np.random.default_rng(1).random(coo.nnz) < 0.2
    train = sp.csr_matrix((coo.data[~held], (coo.row[~held], coo.col[~held])), shape=X.shape)
    test = sp.csr_matrix((coo.data[held], (coo.row[held], coo.col[held])), shape=X.shape)
    return X, train, test


def test_heldout_protocol_on_planted_data():
    """Fit on train only, infer each user's mixture from train, score the held-out items:
    topics must beat the popularity unigram, and the number is exactly the formula."""
    X, train, test = planted_heldout()
    model = LDA(k=4, random_state=0).fit(train)
    Xtr, Xte = model.transform(train), model.transform(test)
    rep = T.heldout_report(model.theta_, model.phi_, Xtr, Xte)
    t = Xte.tocoo()
    p = (model.theta_[t.row] * model.phi_[:, t.col].T).sum(axis=1)
    assert rep["perplexity"] == pytest.approx(math.exp(-(t.data * np.log(p)).sum() / t.data.sum()))
    assert rep["perplexity"] < 0.8 * rep["unigram_perplexity"]
    assert rep["n_test_entries"] == test.nnz
    # the mixture came from train: the test rows were never shown to the model
    assert np.allclose(model.theta_, model.lda_.transform(Xtr))


def test_heldout_with_max_users_scores_the_users_the_topics_were_fit_on(tmp_path):
    """topics_run.heldout with max_users: the same topics as a fit on every row with that cap
    (same seeded sample), scored on the sampled users only - no E-step over everyone."""
    from tastemap.data.matrices import save_matrix
    from tastemap.pipeline.topics_run import heldout

    X, train, test = planted_heldout()
    save_matrix(tmp_path / "train.npz", train)
    save_matrix(tmp_path / "test.npz", test)
    opts = {"counts": "log", "max_iter": 10, "n_init": 1, "doc_topic_prior": None,
            "topic_word_prior": None, "max_users": 60}
    rep = heldout(str(tmp_path / "train.npz"), str(tmp_path / "test.npz"), "artist", 4, 0, opts)
    rows = sample_rows(X.shape[0], 60, 0)
    full = LDA(k=4, random_state=0, **opts).fit(train)
    sub = LDA(k=4, random_state=0, **opts).fit(train[rows])
    np.testing.assert_allclose(full.phi_, sub.phi_)  # the same topics either way
    expected = T.heldout_report(sub.theta_, sub.phi_, sub.transform(train[rows]),
                                sub.transform(test[rows]))
    assert rep["perplexity"] == pytest.approx(expected["perplexity"])
    assert rep["n_test_users"] == expected["n_test_users"] <= 60


# ---- purity, NMI, tables ----------------------------------------------------------------------


def test_topic_purity_and_nmi():
    purity, major = Q.topic_purity(np.array([[0, 1, 2, 3], [4, 5, 0, 1]]),
                                   np.array([1, 1, 1, 2, 3, -1]))
    # topic 1: labels 3, (unknown), 1, 1 -> 2 of 3 labelled items carry genre 1
    assert purity.tolist() == [0.75, pytest.approx(2 / 3)] and major.tolist() == [1, 1]
    assert Q.nmi(np.array([0, 0, 1, 1]), np.array([5, 5, 7, 7])) == pytest.approx(1.0)
    assert math.isnan(Q.nmi(np.array([0, 1]), np.array([-1, -1])))


def test_planted_genres_recovered():
    X, genre, ugenre = planted()
    model = LDA(k=4, random_state=0).fit(X)
    idx, _ = T.top_items(model.phi_, 15)
    purity, major = Q.topic_purity(idx, genre)
    assert purity.min() >= 0.8
    assert sorted(major.tolist()) == [0, 1, 2, 3]
    assert Q.nmi(model.theta_.argmax(axis=1), ugenre) > 0.8


def test_topics_from_a_sample_of_users_still_cover_every_user():
    """max_users: the topics are learnt from a seeded sample of users; every user gets a mixture
    and the planted genres are still found."""
    X, genre, ugenre = planted(n_users=400)
    sample = sample_rows(X.shape[0], 150, 0)
    model = LDA(k=4, random_state=0, max_users=150).fit(X)
    direct = T.fit_lda(T.transform_counts(X[sample], "log"), 4, 0)
    assert np.allclose(model.lda_.components_, direct.components_)  # fit on the sample only
    assert model.theta_.shape == (400, 4) and np.allclose(model.theta_.sum(axis=1), 1)
    idx, _ = T.top_items(model.phi_, 15)
    assert Q.topic_purity(idx, genre)[0].min() >= 0.8
    assert Q.nmi(model.theta_.argmax(axis=1), ugenre) > 0.8
    assert np.array_equal(sample_rows(400, 150, 0), sample) and len(np.unique(sample)) == 150
    assert np.array_equal(sample_rows(400, None, 0), np.arange(400))


def test_describe_tables_have_names():
    X, genre, ugenre = planted(n_users=60, n_items=40, per_user=10)
    users = pd.DataFrame({"user_idx": np.arange(60), "user": [f"user_{u:03d}" for u in range(60)]})
    artists = pd.DataFrame({"artist_idx": np.arange(40)[::-1],
                            "artist": [f"Band {i}" for i in range(40)][::-1]})
    truth = pd.DataFrame({"kind": ["artist"] * 40 + ["user"] * 60,
                          "name": list(artists["artist"][::-1]) + list(users["user"]),
                          "genre": list(genre) + list(ugenre)})
    model = LDA(k=3, random_state=0).fit(X)
    tables, metrics = T.describe(model.transform(X), model.theta_, model.lda_, users, artists,
                                 "artist", truth=truth, top_n=5, coherence_n=4)
    top = tables["top_items"]
    assert len(top) == 15 and top["rank"].tolist()[:5] == [1, 2, 3, 4, 5]
    # names follow artist_idx (the table above is stored in reverse order)
    assert (top["artist"] == "Band " + top["artist_idx"].astype(str)).all()
    ut = tables["user_topics"]
    assert ut.columns.tolist() == ["user_idx", "user", "dominant_topic",
                                   "topic_0", "topic_1", "topic_2"]
    assert np.allclose(ut[["topic_0", "topic_1", "topic_2"]].sum(axis=1), 1.0)
    ti = tables["topic_items"]
    assert len(ti) == 3 * 40 and np.allclose(ti.groupby("topic")["weight"].sum(), 1.0)
    assert metrics["items_without_truth"] == 0 and 0 <= metrics["purity_min"] <= 1
    assert set(tables["topics"].columns) >= {"topic", "share", "umass", "npmi", "label", "purity"}
    assert tables["topics"]["share"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="artists table: artist_idx"):
        T.describe(model.transform(X), model.theta_, model.lda_, users, artists.iloc[1:], "artist")


def test_song_names_and_sweep_table():
    songs = pd.DataFrame({"song_idx": [1, 0], "artist": ["B", "A"], "track": ["y", "x"]})
    assert T.item_names(songs, "song", 2).tolist() == ["A - x", "B - y"]
    table = T.sweep_table([{"k": 8, "seed": 0, "npmi": 0.2}, {"k": 4, "seed": 0, "npmi": 0.1}],
                          [{"k": 4, "seed": 0, "perplexity": 50.0},
                           {"k": 8, "seed": 0, "perplexity": 40.0}])
    assert table[["k", "npmi", "perplexity"]].values.tolist() == [[4, 0.1, 50.0], [8, 0.2, 40.0]]


# ---- LDA as a recommender ----------------------------------------------------------------------


def test_lda_recommender_scores_are_theta_phi():
    X, genre, _ = planted(n_users=40, n_items=30, per_user=8)
    model = make("lda", k=3, random_state=0).fit(X)
    assert isinstance(model, LDA)
    users = np.array([0, 5, 39])
    assert np.allclose(model._score(users), model.theta_[users] @ model.phi_)
    assert model.user_factors.shape == (40, 3) and model.item_factors.shape == (30, 3)
    assert np.allclose(model.phi_.sum(axis=1), 1.0) and np.allclose(model.theta_.sum(axis=1), 1.0)
    ids, scores = model.recommend(users, k=5)
    dense = model.theta_[users] @ model.phi_
    for row, u in enumerate(users):
        played = set(X[u].indices)
        assert not played & set(ids[row].tolist())
        assert np.allclose(scores[row], dense[row, ids[row]], rtol=1e-5)
    # fold-in of a known user's row gives that user's mixture and scores
    assert np.allclose(model._score_new(X[users]), dense, atol=1e-6)
    new_ids, _ = model.recommend_new(X[users], k=5)
    assert np.array_equal(new_ids, ids)
    sims, _ = model.similar_items(np.array([0, 1]), k=3)
    assert sims.shape == (2, 3) and 0 not in sims[0] and 1 not in sims[1]


def test_restarts_keep_the_lowest_training_perplexity():
    X, _, _ = planted(n_users=60, n_items=40, per_user=10)
    Xc = T.transform_counts(X, "log")
    seeds = T.restart_seeds(5, 3)
    assert seeds[0] == 5 and len(set(seeds)) == 3 and seeds == T.restart_seeds(5, 3)
    single = [T.fit_lda(Xc, 3, s, max_iter=5).bound_ for s in seeds]
    best = T.fit_lda(Xc, 3, 5, max_iter=5, n_init=3)
    assert best.bound_ == min(single)
    with pytest.raises(ValueError, match="n_init"):
        T.fit_lda(Xc, 3, 5, n_init=0)


def test_lda_same_seed_same_numbers(tmp_path):
    X, _, _ = planted(n_users=40, n_items=30, per_user=8)
    a = LDA(k=3, random_state=3).fit(X)
    b = LDA(k=3, random_state=3).fit(X)
    assert np.array_equal(a.theta_, b.theta_) and np.array_equal(a.phi_, b.phi_)
    a.save(tmp_path / "m.joblib")
    c = LDA.load(tmp_path / "m.joblib")
    assert np.array_equal(c._score(np.arange(40)), a._score(np.arange(40)))


def test_topic_coords_shapes():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(2), size=30)
    rows, xy = T.topic_coords(P, 0, activity=np.arange(30))
    assert rows.tolist() == list(range(30))
    assert np.allclose(xy[:, 0], P[:, 1]) and np.allclose(xy[:, 1], np.arange(30))
    rows, xy = T.topic_coords(P, 0, activity=np.arange(30), max_points=10)
    assert np.array_equal(rows, sample_rows(30, 10, 0)) and xy.shape == (10, 2)
    assert np.allclose(xy[:, 1], rows)  # each sampled point keeps its own activity


def test_topic_map_of_a_sample_is_seeded_and_keeps_the_topics_apart():
    """max_points: UMAP of a seeded sample of the mixtures; same seed -> same coordinates, and
    points of different dominant topics stay apart."""
    rng = np.random.default_rng(1)
    topic = rng.integers(0, 4, 300)
    P = rng.dirichlet(np.full(4, 0.1), size=300) * 0.2 + np.eye(4)[topic] * 0.8
    rows, xy = T.topic_coords(P, 3, max_points=120)
    again_rows, again = T.topic_coords(P, 3, max_points=120)
    assert np.array_equal(rows, again_rows) and np.array_equal(xy, again)
    assert len(rows) == 120 and xy.shape == (120, 2)
    from sklearn.neighbors import NearestNeighbors

    _, near = NearestNeighbors(n_neighbors=6).fit(xy).kneighbors(xy)
    assert (topic[rows][near[:, 1:]] == topic[rows][:, None]).mean() > 0.9


def test_topic_model_saved_without_pickle(tmp_path):
    """The topics stage's model.npz is the LDA recommender's own file: arrays + JSON."""
    import joblib

    from tastemap.core.store import ModelFileError

    X, _, _ = planted(n_users=40, n_items=30, per_user=8)
    model = LDA(k=3, random_state=3).fit(X)
    path = tmp_path / "model.npz"
    model.save(path)
    saved = LDA.load(path)
    counts = T.transform_counts(X, "log")
    assert np.array_equal(saved.lda_.transform(counts), model.lda_.transform(counts))
    assert np.array_equal(T.topic_item_matrix(saved.lda_), model.phi_)
    assert saved.get_params() == model.get_params()
    with np.load(path, allow_pickle=False) as z:  # plain arrays and one JSON string
        assert all(z[f].dtype != object for f in z.files)
    joblib.dump(model, tmp_path / "model.joblib")
    with pytest.raises(ModelFileError, match="model.joblib: not a tastemap model file"):
        LDA.load(tmp_path / "model.joblib")


# ---- workflow on the tiny config ----------------------------------------------------------


def _tiny():
    return yaml.safe_load(TINY_CONFIG.read_text())


@pytest.mark.workflow
def test_tiny_topics_outputs(tiny_run):
    base = tiny_run / "results" / "tiny" / "topics" / "lda" / "artist"
    g = _tiny()["simulate"]["n_genres"]
    metrics = json.loads((base / f"k{g}" / "seed0" / "metrics.json").read_text())
    # k = planted genre count: every topic's top-15 artists mostly from one genre
    assert metrics["purity_min"] >= 0.8, metrics
    top = pd.read_csv(base / f"k{g}" / "seed0" / "top_items.csv")
    artists = pd.read_parquet(tiny_run / "results" / "tiny" / "data" / "artists.parquet")
    names = artists.set_index("artist_idx")["artist"]
    assert (top["artist"] == names.loc[top["artist_idx"]].to_numpy()).all()
    assert not top["artist"].astype(str).str.fullmatch(r"\d+").any()
    assert top.groupby("topic").size().eq(15).all()
    sweep = pd.read_csv(base / "sweep.csv")
    assert sorted(sweep["k"]) == sorted(_tiny().get("topics", {}).get("k", [4, 8, 16]))
    assert sweep[["perplexity", "npmi", "umass", "purity"]].notna().all().all()
    # at the planted k, topics predict held-out items better than popularity (too many topics
    # for 150 users may overfit, so only the planted k is checked)
    at_g = sweep.loc[sweep["k"] == g].iloc[0]
    assert at_g["perplexity"] < 0.8 * at_g["unigram_perplexity"]
    for name in ("map.png", "items_map.png"):
        assert (base / f"k{g}" / "seed0" / name).stat().st_size > 0
    assert (base / "sweep.png").stat().st_size > 0


@pytest.mark.workflow
@pytest.mark.usefixtures("tiny_run_to_myself")
def test_adding_a_topic_count_runs_only_its_jobs(tiny_run):
    cfg = _tiny()
    ks = list(cfg.get("topics", {}).get("k", [4, 8, 16]))
    new_k = max(ks) + 3
    entities, seeds = cfg["entities"], cfg["seeds"]
    # nothing is left to do on the finished run
    assert dry_run_jobs(tiny_run) == {}
    jobs = dry_run_jobs(tiny_run, "--config", f"topics={{k: {ks + [new_k]}}}")
    per_run = len(entities) * len(seeds)
    # one topics_lda job per new run (fit, tables, maps, held-out score); one sweep job; the
    # interactive explore maps colour by every topic run: one explore_html job per (entity,
    # seed) redraws them, and no projection reruns
    expected = {"topics_lda": per_run, "topics_sweep": 1, "explore_html": per_run, "all": 1}
    # the report (if any) reads the topic figures; nothing upstream or unrelated may rerun
    others = {r: n for r, n in jobs.items() if r not in expected and not r.startswith("report")}
    assert others == {}, jobs
    assert {r: n for r, n in jobs.items() if r in expected} == expected
