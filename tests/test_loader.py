"""tastemap.load: unit tests on a small hand-made results folder (exact values), and a workflow
test on the shared tiny run (names of the real files)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import tastemap
from tastemap.app.loader import AmbiguousName, NotRun, UnknownName, load
from tastemap.core import layout as L
from tastemap.data.matrices import save_matrix
from tastemap.models import registry
from tastemap.pipeline.fit import Fit, fit_outputs

ARTISTS = ["Aphex Twin", "Björk", "Can", "Dead Can Dance"]
USERS = ["u0", "u1", "u2", "u3"]
#: users x artists play counts. Listeners per artist: 3, 2, 2, 1; plays per artist: 8, 5, 4, 7.
PLAYS = np.array([[5, 1, 0, 0],
                  [2, 0, 3, 0],
                  [1, 4, 1, 0],
                  [0, 0, 0, 7]], dtype=np.float32)


def fake_results(root: Path, selected: bool = True) -> Path:
    """A results/<dataset> folder with the contract's file names: data tables, the matrix, two
    variants of the popularity model (by users, by plays) and an item-kNN fit for real, a
    leaderboard (of popularity only)."""
    res = root / "results" / "mini"
    (res / "data").mkdir(parents=True)
    (res / "matrices").mkdir()
    users = pd.DataFrame({"user_idx": np.arange(4, dtype=np.int32), "user": USERS,
                          "n_artists": (PLAYS > 0).sum(1), "n_plays": PLAYS.sum(1).astype(int)})
    artists = pd.DataFrame({"artist_idx": np.arange(4, dtype=np.int32), "artist": ARTISTS,
                            "n_users": (PLAYS > 0).sum(0), "n_plays": PLAYS.sum(0).astype(int)})
    users.to_parquet(res / "data/users.parquet")
    artists.to_parquet(res / "data/artists.parquet")
    matrix = sp.csr_matrix(PLAYS)
    save_matrix(res / "matrices/user_artist.npz", matrix)
    (res / "matrices/stats.json").write_text(json.dumps(
        {"user_artist": {"shape": [4, 4], "nnz": 8, "density": 0.5}}))
    names_u, names_i = np.array(USERS, dtype=object), np.array(ARTISTS, dtype=object)
    fits = [("popularity", "default", {"by": "users"}), ("popularity", "byplays", {"by": "plays"}),
            ("itemknn", "default", {"neighbours": 2, "similarity": "cosine", "weighting": "raw"})]
    for name, variant, params in fits:
        d = res / L.path(L.FIT_DIR, entity="artist", model=name, variant=variant, seed=0,
                         fit="full")
        d.mkdir(parents=True)
        out = fit_outputs(Fit(name, params), matrix, names_u, names_i, n=2, similar_n=2)
        out.write(d / "model.npz", d / "recommendations.parquet", d / "history.parquet",
                  similar=d / "similar.parquet")
    ev = res / "evaluate/artist"
    (ev / "seed0").mkdir(parents=True)
    pd.DataFrame({"entity": "artist", "rank": [1, 1, 2, 2], "model": "popularity",
                  "variant": ["byplays", "byplays", "default", "default"],
                  "metric": ["ndcg@10", "recall@10"] * 2, "mean": [0.5, 0.7, 0.25, 0.8],
                  "sd": np.nan, "n_seeds": 1}).to_csv(ev / "leaderboard.csv", index=False)
    (ev / "leaderboard.md").write_text("# Leaderboard: artist, seeds 0\n\nRanked by ndcg@10; cells ...\n")
    if selected:
        pd.DataFrame({"model": ["popularity"], "variant": ["byplays"], "n_variants": [2]}).to_csv(
            ev / "seed0/selected.csv", index=False)
    return res


@pytest.fixture()
def mini(tmp_path) -> Path:
    return fake_results(tmp_path)


def test_load_is_exported_and_tables_are_lazy(mini):
    run = tastemap.load(mini)
    assert run.dataset == "mini"
    assert run._cache == {}
    assert run.users["user"].tolist() == USERS
    assert ("parquet", "data/users.parquet") in run._cache
    assert run.users is run.users  # cached
    assert run.artists["n_users"].tolist() == [3, 2, 2, 1]
    assert run.stats["user_artist"]["nnz"] == 8


def test_matrix_and_binary_view(mini):
    run = load(mini)
    m = run.matrix("artist")
    assert m.dtype == np.float32 and m.shape == (4, 4)
    np.testing.assert_array_equal(m.toarray(), PLAYS)
    np.testing.assert_array_equal(run.matrix("artist", binary=True).toarray(), PLAYS > 0)
    assert run.matrix("artist") is m


def test_names_and_indices(mini):
    run = load(mini)
    assert run.user_index("u2") == 2
    assert run.user_index("U2") == 2  # forgiving
    assert run.user_index(3) == 3
    assert run.item_index("Björk") == 1
    assert run.item_index("dead can DANCE") == 3  # case-insensitive
    assert run.item_index("bjork") == 1           # accents
    with pytest.raises(UnknownName, match=r"unknown artist 'Bjrk'.*did you mean 'Björk'"):
        run.item_index("Bjrk")
    with pytest.raises(UnknownName, match=r"unknown user 'u9'.*users.parquet"):
        run.user_index("u9")
    with pytest.raises(UnknownName, match="out of range"):
        run.user_index(4)
    assert [(m.name, m.how) for m in run.match(["Can", "aphex-twin"])] == [
        ("Can", "exact"), ("Aphex Twin", "forgiving")]


def test_two_artists_with_one_forgiving_spelling(mini):
    artists = pd.read_parquet(mini / "data/artists.parquet")
    artists.loc[artists["artist"] == "Can", "artist"] = "BJÖRK"
    artists.to_parquet(mini / "data/artists.parquet")
    run = load(mini)
    assert run.item_index("BJÖRK") == 2 and run.item_index("Björk") == 1
    with pytest.raises(AmbiguousName, match=r"ambiguous artist 'bjork'.*'Björk', 'BJÖRK'"):
        run.item_index("bjork")


def test_models_table(mini):
    table = load(mini).models()
    assert table[["entity", "model", "variant", "seed", "fit"]].values.tolist() == [
        ["artist", "itemknn", "default", 0, "full"],
        ["artist", "popularity", "byplays", 0, "full"],
        ["artist", "popularity", "default", 0, "full"],
    ]
    assert (table["path"] / Path(L.MODEL).name).map(Path.exists).all()


def test_model_variant_chosen_on_validation(mini):
    run = load(mini)
    # byplays (selected.csv): plays per artist 8, 5, 4, 7 -> u0 (played 0, 1) gets 3 then 2
    recs = run.recommendations("artist", "popularity", user="u0")
    assert recs["item"].tolist() == ["Dead Can Dance", "Can"]
    assert recs["score"].tolist() == [7.0, 4.0]
    # by listeners: 2 (Can) before 1 (Dead Can Dance)
    recs = run.recommendations("artist", "popularity", variant="default", user="u0")
    assert recs["item"].tolist() == ["Can", "Dead Can Dance"]
    model = run.model("artist", "popularity")
    assert model.by == "plays"
    ids, scores = model.recommend(np.array([1]), k=2)  # u1 played 0, 2
    assert ids.tolist() == [[3, 1]] and scores.tolist() == [[7.0, 5.0]]
    assert run.model("artist", "popularity") is model


def test_several_variants_without_selection_is_an_error(tmp_path):
    run = load(fake_results(tmp_path, selected=False))
    with pytest.raises(UnknownName, match="variants byplays, default"):
        run.model("artist", "popularity")


def test_unknown_model_and_variant(mini):
    run = load(mini)
    with pytest.raises(UnknownName, match="unknown model 'als'.*known: itemknn, popularity"):
        run.model("artist", "als")
    with pytest.raises(UnknownName, match="known: byplays, default"):
        run.model("artist", "popularity", variant="f64")
    with pytest.raises(NotRun, match="no full fit of seed 3"):
        run.model("artist", "popularity", seed=3)


def _cosine() -> np.ndarray:
    """Cosine similarity of the artist columns of PLAYS (item-kNN's, with raw weights)."""
    unit = PLAYS / np.linalg.norm(PLAYS, axis=0)
    return unit.T @ unit


def test_recommend_new_through_every_family(mini):
    run = load(mini)
    assert run.families("artist") == ["popularity", "itemknn"]  # leaderboard order, then name
    assert run.families("artist", can="explains") == ["itemknn"]
    recs = run.recommend_new(["aphex twin", "BJORK"], n=2)
    assert [(m.name, m.how) for m in recs.attrs["matches"]] == [
        ("Aphex Twin", "forgiving"), ("Björk", "forgiving")]
    # a name without a count: the 90th percentile of the stored counts 1,1,1,2,3,4,5,7
    assert recs.attrs["plays"] == pytest.approx(5.6) and recs.attrs["skipped"] == {}
    pop = recs[recs["model"] == "popularity"]
    assert pop["variant"].unique().tolist() == ["byplays"]  # the validated variant
    assert pop["item"].tolist() == ["Dead Can Dance", "Can"]  # by plays 7, 4; liked ones out
    knn = recs[recs["model"] == "itemknn"]
    cos = _cosine()
    assert knn["item"].iloc[0] == "Can"
    assert knn["score"].iloc[0] == pytest.approx(5.6 * (cos[0, 2] + cos[1, 2]), rel=1e-5)
    one = run.recommend_new({"Can": 3, "dead can dance": None}, model="popularity",
                            variant="default", n=1)
    assert one[["model", "variant", "item"]].values.tolist() == [
        ["popularity", "default", "Aphex Twin"]]
    with pytest.raises(UnknownName, match=r"2 artists not found in \S+artists.parquet: "
                       r"'Bjrk' \(did you mean 'Björk'\?\), 'Aphx Twin' \(did you mean"):
        run.recommend_new(["Bjrk", "Can", "Aphx Twin"])
    with pytest.raises(UnknownName, match="unknown model 'als'"):
        run.recommend_new(["Can"], model="als")
    with pytest.raises(ValueError, match="play counts must be > 0: 'Can'"):
        run.recommend_new({"Can": 0})


def test_explain_a_user_and_a_new_listener(mini):
    from tastemap.app.explain import CannotExplain

    run = load(mini)
    cos = _cosine()
    why = run.explain("can", user="u0", model="itemknn", n=5)  # u0 played Aphex Twin 5, Björk 1
    assert why["played"].tolist() == ["Aphex Twin", "Björk"]
    np.testing.assert_allclose(why["contribution"], [5 * cos[0, 2], 1 * cos[1, 2]], rtol=1e-5)
    assert why["plays"].tolist() == [5, 1] and why["share"].sum() == pytest.approx(1)
    assert why.attrs["played"].tolist() == [0, 1] and why.attrs["scores"][2] == pytest.approx(
        5 * cos[0, 2] + cos[1, 2], rel=1e-5)
    new = run.explain(["Can", 3], likes={"Aphex Twin": 2.0}, model="itemknn")
    assert new["item"].tolist() == ["Can"]  # Dead Can Dance: no played neighbour contributes
    assert new["contribution"].iloc[0] == pytest.approx(2 * cos[0, 2], rel=1e-5)
    assert new.attrs["scores"][3] == 0
    with pytest.raises(CannotExplain, match="popularity cannot explain.*can: als, ease, itemknn"):
        run.explain("Can", user="u0", model="popularity")
    with pytest.raises(ValueError, match="either user= or likes="):
        run.explain("Can", model="itemknn")


def test_similar_of_one_item(mini):
    sim = load(mini).similar("artist", "popularity", variant="byplays", item="aphex twin")
    assert sim["similar"].tolist() == ["Dead Can Dance", "Björk"]  # plays 7, 5; itself excluded


def test_leaderboard_and_best(mini):
    run = load(mini)
    assert run.primary_metric("artist") == "ndcg@10"
    best = run.best("artist")
    assert best[["variant", "mean"]].values.tolist() == [["byplays", 0.5], ["default", 0.25]]
    assert run.best("artist", "recall@10")["variant"].tolist() == ["default", "byplays"]
    with pytest.raises(UnknownName, match="unknown metric 'ndcg@5'"):
        run.best("artist", "ndcg@5")


def test_missing_outputs_name_the_path(mini, tmp_path):
    run = load(mini)
    with pytest.raises(NotRun, match=r"user_song\.npz: not found"):
        run.matrix("song")
    with pytest.raises(NotRun, match=r"topics/lda/artist/k8/seed0: not found"):
        run.topics("artist", 8, 0)
    with pytest.raises(NotRun, match=r"explore/artist/umap/seed0/users: not found"):
        run.coords("artist", "umap", 0)
    with pytest.raises(NotRun, match=r"seed0/significance\.csv: not found"):
        run.significance("artist", 0)
    with pytest.raises(NotRun, match="split/seed0/train_artist.npz"):
        run.split(0, "artist")
    with pytest.raises(NotRun, match="no such results directory"):
        load(tmp_path / "nothing")
    with pytest.raises(NotRun, match="not a tastemap results directory"):
        load(tmp_path)
    with pytest.raises(ValueError, match="entity must be one of"):
        run.matrix("album")


#: small settings of every family (4 users x 4 artists)
EVERY = {"als": dict(factors=2, iterations=3), "bpr": dict(factors=2, iterations=5),
         "itemknn": dict(neighbours=2), "userknn": dict(neighbours=2), "popularity": {},
         "ease": dict(l2=1.0), "lda": dict(k=2, max_iter=3), "mf": dict(factors=2, epochs=2),
         "item2vec": dict(factors=2, epochs=2), "sgns": dict(factors=2, epochs=2),
         "twotower": dict(factors=2, hidden=4, epochs=2, batch_size=4),
         "p3alpha": dict(neighbours=2), "rp3beta": dict(neighbours=2),
         "slim": dict(neighbours=2, alpha=0.01), "puresvd": dict(factors=2)}


def test_every_family_loads_through_tastemap_load(tmp_path):
    """A saved model of every family loads with tastemap.load(...).model(...), gets the fit's
    matrix attached and reproduces the recommendations table it wrote."""
    assert set(EVERY) == set(registry.FAMILIES)
    res = fake_results(tmp_path)
    matrix = sp.csr_matrix(PLAYS)
    names_u, names_i = np.array(USERS, dtype=object), np.array(ARTISTS, dtype=object)
    for name, params in EVERY.items():
        d = res / f"models/artist/{name}/every/seed0/full"
        d.mkdir(parents=True)
        fit_outputs(Fit(name, params, seed=1), matrix, names_u, names_i, n=2).write(
            d / "model.npz", d / "recommendations.parquet", d / "history.parquet")
    run = load(res)
    for name in EVERY:
        model = run.model("artist", name, variant="every")
        assert model.name == name and model.get_params() == {
            **model.get_params(), **EVERY[name], "random_state": 1}
        table = run.recommendations("artist", name, variant="every")
        ids, scores = model.recommend(np.arange(4), k=2)
        got = [(u, i) for u in range(4) for i in ids[u] if i >= 0]
        assert got == list(zip(table["user_idx"], table["item_idx"])), name


def test_summary(mini):
    s = load(mini).summary()
    assert s["dataset"] == "mini"
    assert s["models"] == ["artist/itemknn/default", "artist/popularity/byplays",
                           "artist/popularity/default"]
    assert s["matrices"]["user_artist"]["shape"] == [4, 4]
    assert s["maps"] == [] and s["topics"] == []


# ---- on the shared tiny run ------------------------------------------------------------------


@pytest.mark.workflow
def test_loader_on_tiny_run(tiny_run):
    res = tiny_run / "results" / "tiny"
    run = load(res)
    users = pd.read_parquet(res / "data/users.parquet")
    assert run.matrix("artist").shape[0] == len(users) == len(run.users)
    assert run.matrix("song").shape[1] == len(run.songs)
    train, test = run.split(0, "artist")
    held_valid, held_test = run.held_out(0, "artist")
    assert held_test.nnz and (train + test + held_valid + held_test != run.matrix("artist")).nnz == 0
    vtrain, vtest = run.split(0, "artist", valid=True)
    assert (vtrain + vtest != train).nnz == 0
    assert {"interactions", "listens", "rejected"} and len(run.interactions) > 0
    assert list(run.rejected.columns)[:3] == ["line", "raw", "reason"]

    models = run.models()
    assert {"full", "train"} <= set(models["fit"])
    assert {"als", "popularity"} <= set(models["model"])
    # the loaded full ALS fit reproduces its own recommendations table
    recs = run.recommendations("artist", "als")
    model = run.model("artist", "als")
    u = int(recs["user_idx"].iloc[0])
    ids, _ = model.recommend(np.array([u]), k=3)
    assert ids[0].tolist() == recs.loc[recs["user_idx"] == u, "item_idx"].head(3).tolist()
    assert not run.similar("artist", "als").empty

    board = run.leaderboard("artist")
    assert {"model", "variant", "metric", "mean"} <= set(board.columns)
    assert run.best("artist")["metric"].eq(run.primary_metric("artist")).all()
    assert not run.leaderboard("artist", seed=0).empty
    assert not run.selected("artist", 0).empty
    assert set(run.per_user("artist", 0)["model"]) == set(
        models.loc[(models["entity"] == "artist") & (models["fit"] == "train"), "model"])

    topics = run.topics("artist", 4, 0)
    k = 4
    assert len(topics.topics) == k
    mix = topics.user_topics[[f"topic_{t}" for t in range(k)]].to_numpy()
    np.testing.assert_allclose(mix.sum(1), 1.0, rtol=1e-6)
    coords = run.coords("artist", "umap", 0, "users")
    assert len(coords) == len(users) and {"x", "y", "cluster"} <= set(coords.columns)
    assert not run.cluster_metrics("artist", "pca", 0, "items").empty
