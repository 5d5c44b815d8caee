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
from tastemap.loader import NotRun, UnknownName, close_names, load
from tastemap.matrices import save_matrix
from tastemap.models.run import fit_outputs

ARTISTS = ["Aphex Twin", "Björk", "Can", "Dead Can Dance"]
USERS = ["u0", "u1", "u2", "u3"]
#: users x artists play counts. Listeners per artist: 3, 2, 2, 1; plays per artist: 8, 5, 4, 7.
PLAYS = np.array([[5, 1, 0, 0],
                  [2, 0, 3, 0],
                  [1, 4, 1, 0],
                  [0, 0, 0, 7]], dtype=np.float32)


def fake_results(root: Path, selected: bool = True) -> Path:
    """A results/<dataset> folder with the contract's file names: data tables, the matrix, two
    variants of the popularity model (by users, by plays) fit for real, a leaderboard."""
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
    for variant, by in (("default", "users"), ("byplays", "plays")):
        d = res / f"models/artist/popularity/{variant}/seed0/full"
        d.mkdir(parents=True)
        model, recs, similar, _ = fit_outputs("popularity", {"by": by}, 0, matrix, names_u,
                                              names_i, n=2, similar_n=2)
        model.save(d / "model.npz")
        recs.to_parquet(d / "recommendations.parquet", index=False)
        similar.to_parquet(d / "similar.parquet", index=False)
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
    assert run.user_index(3) == 3
    assert run.item_index("Björk") == 1
    assert run.item_index("dead can DANCE") == 3  # case-insensitive
    with pytest.raises(UnknownName, match=r"unknown artist 'Bjork'.*did you mean 'Björk'"):
        run.item_index("Bjork")
    with pytest.raises(UnknownName, match=r"unknown user 'u9'.*users.parquet"):
        run.user_index("u9")
    with pytest.raises(UnknownName, match="out of range"):
        run.user_index(4)


def test_close_names_prefers_containing_names():
    assert close_names("can", ["Dead Can Dance", "Can", "Cannibal Ox"]) == [
        "Can", "Cannibal Ox", "Dead Can Dance"]
    assert close_names("zzz", ["Can", "Björk"]) == []


def test_models_table(mini):
    table = load(mini).models()
    assert table[["entity", "model", "variant", "seed", "fit"]].values.tolist() == [
        ["artist", "popularity", "byplays", 0, "full"],
        ["artist", "popularity", "default", 0, "full"],
    ]


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
    with pytest.raises(UnknownName, match="unknown model 'als'.*known: popularity"):
        run.model("artist", "als")
    with pytest.raises(UnknownName, match="known: byplays, default"):
        run.model("artist", "popularity", variant="f64")
    with pytest.raises(NotRun, match="no full fit of seed 3"):
        run.model("artist", "popularity", seed=3)


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


def test_summary(mini):
    s = load(mini).summary()
    assert s["dataset"] == "mini"
    assert s["models"] == ["artist/popularity/byplays", "artist/popularity/default"]
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
    assert (train + test != run.matrix("artist")).nnz == 0
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
