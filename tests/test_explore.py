"""Explore stage: projections, placement of new users, clustering, figures, workflow outputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import TINY_DATASET, dry_run_jobs, results, run_snakemake, tiny_run_lock

from tastemap import explore as ex
from tastemap.core import layout as L
from tastemap.data.matrices import sample_rows

# ---- small planted data --------------------------------------------------------------------


def planted(n_users=120, n_items=160, n_genres=4, per_user=20, noise=0.1, seed=0):
    """users x items play counts where each user mostly plays items of one genre.

    Item j has genre ``j % n_genres``; user i has genre ``user_genre[i]``; a fraction ``noise`` of
    each user's plays goes to other genres. Returns (matrix, user_genre, item_genre).
    """
    rng = np.random.default_rng(seed)
    item_genre = np.arange(n_items) % n_genres
    user_genre = np.arange(n_users) % n_genres
    rows, cols = [], []
    for u in range(n_users):
        same = item_genre == user_genre[u]
        w = np.where(same, (1 - noise) / same.sum(), noise / (~same).sum())
        cols += list(rng.choice(n_items, size=per_user, replace=False, p=w / w.sum()))
        rows += [u] * per_user
    plays = rng.integers(1, 30, len(rows)).astype(np.float32)
    return sp.csr_matrix((plays, (rows, cols)), shape=(n_users, n_items)), user_genre, item_genre


@pytest.fixture(scope="module")
def data():
    return planted()


# ---- representation --------------------------------------------------------------------------


def test_orient_binarizes_and_transposes():
    m = sp.csr_matrix(np.array([[3, 0, 1], [0, 0, 7]], dtype=np.float32))
    users = ex.orient(m, "users")
    items = ex.orient(m, "items")
    assert users.toarray().tolist() == [[1, 0, 1], [0, 0, 1]]
    assert items.toarray().tolist() == [[1, 0], [0, 0], [1, 1]]
    assert users.dtype == np.float32 and sp.isspmatrix_csr(items)
    with pytest.raises(ValueError, match="side"):
        ex.orient(m, "artists")


def test_fit_svd_unit_rows_and_seeded(data):
    m, _, _ = data
    rows = ex.orient(m, "users")
    pipe, emb = ex.fit_svd(rows, 10, seed=3)
    _, emb2 = ex.fit_svd(rows, 10, seed=3)
    assert emb.shape == (120, 10) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(emb, emb2)
    np.testing.assert_allclose(pipe.transform(rows[:5]), emb[:5], rtol=1e-4, atol=1e-5)
    # capped at min(shape) - 1
    _, small = ex.fit_svd(rows[:4], 50, seed=0)
    assert small.shape == (4, 3)


# ---- projections -----------------------------------------------------------------------------


def test_pca_projection_places_its_own_rows(data):
    m, _, _ = data
    rows = ex.orient(m, "items")
    coords, model = ex.project(rows, "pca", seed=1)
    again, _ = ex.project(rows, "pca", seed=1)
    assert coords.shape == (160, 2)
    np.testing.assert_array_equal(coords, again)
    # placing the training rows again gives the map's own coordinates
    np.testing.assert_allclose(ex.place_users(model, m.T.tocsr()), coords, rtol=1e-4, atol=1e-5)


def test_tsne_is_seeded_and_cannot_place(data):
    m, ug, _ = data
    rows = ex.orient(m, "users")
    svd, _ = ex.fit_svd(rows, 10, seed=0)
    opts = {"perplexity": 10, "max_iter": 250}
    coords, model = ex.project(rows, "tsne", seed=5, svd=svd, params=opts)
    again, _ = ex.project(rows, "tsne", seed=5, svd=svd, params=opts)
    assert model is None and coords.shape == (120, 2)
    np.testing.assert_array_equal(coords, again)  # same seed -> same coordinates
    with pytest.raises(ValueError, match="tsne needs"):
        ex.project(rows, "tsne", seed=5)
    with pytest.raises(ValueError, match="unknown method"):
        ex.project(rows, "mds", seed=0)


@pytest.fixture(scope="module")
def umap_users(data):
    m, _, _ = data
    rows = ex.orient(m, "users")
    svd, _ = ex.fit_svd(rows, 10, seed=0)
    # reduce_above=50 < 160 columns: UMAP runs on the SVD representation
    coords, model = ex.project(rows, "umap", seed=0, svd=svd, params={"reduce_above": 50})
    return coords, model


def test_umap_new_user_lands_next_to_its_genre(data, umap_users):
    m, user_genre, item_genre = data
    coords, model = umap_users
    assert [name for name, _ in model.steps] == ["l2", "svd", "unit", "place"]
    rng = np.random.default_rng(11)
    new_rows, new_genre = [], []
    for g in range(4):
        row = np.zeros(m.shape[1], dtype=np.float32)
        row[rng.choice(np.flatnonzero(item_genre == g), 15, replace=False)] = 5.0
        new_rows.append(row)
        new_genre.append(g)
    placed = ex.place_users(model, sp.csr_matrix(np.array(new_rows)))
    assert placed.shape == (4, 2)
    for point, g in zip(placed, new_genre):
        nearest = np.argsort(np.linalg.norm(coords - point, axis=1))[:10]
        assert (user_genre[nearest] == g).mean() >= 0.8, (g, user_genre[nearest])
    with pytest.raises(ValueError, match="columns"):
        ex.place_users(model, sp.csr_matrix((1, 7), dtype=np.float32))


def test_umap_jaccard_on_sparse_rows(data):
    m, _, item_genre = data
    rows = ex.orient(m, "items")
    coords, model = ex.project(rows, "umap", seed=0, params={"metric": "jaccard", "n_neighbors": 10})
    assert [name for name, _ in model.steps] == ["place"]
    labels, table = ex.cluster_sweep(coords, ["kmeans"], [4], seed=0, truth=item_genre)
    assert table.loc[0, "ari"] >= 0.8


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_fit_umap_on_precomputed_distances_keeps_the_neighbourhoods(metric):
    """fit_umap hands a small map's exact distances to UMAP as ``precomputed``: the map keeps
    the neighbourhoods umap-learn's own (slow) exact path keeps, to within 0.01 of
    trustworthiness, and the same seed gives the same map."""
    from sklearn.manifold import trustworthiness

    from tastemap.core.numba_cache import import_umap

    rng = np.random.default_rng(0)
    X = (rng.normal(scale=3, size=(6, 12))[rng.integers(0, 6, 600)]
         + rng.normal(size=(600, 12))).astype(np.float32)
    ours = ex.fit_umap(X, metric=metric, random_state=0, n_jobs=1)
    theirs = import_umap().UMAP(metric=metric, random_state=0, n_jobs=1).fit_transform(X)
    t_ours, t_theirs = (trustworthiness(X, Y, n_neighbors=10, metric=metric) for Y in (ours, theirs))
    assert t_ours >= t_theirs - 0.01, (t_ours, t_theirs)
    np.testing.assert_array_equal(ours, ex.fit_umap(X, metric=metric, random_state=0, n_jobs=1))


def test_umap_recovers_planted_genres(data, umap_users):
    """The acceptance check at unit size: the best clustering (chosen by silhouette) of a UMAP
    map agrees with the planted genres."""
    _, user_genre, _ = data
    coords, _ = umap_users
    labels, table = ex.cluster_sweep(coords, ["kmeans", "agglomerative", "hdbscan"],
                                     [2, 3, 4, 6, 8], seed=0, truth=user_genre)
    table = ex.select_runs(table, "silhouette")
    best = table[table["best"]].iloc[0]
    assert best["ari"] >= 0.8, table.to_string()


def test_umap_same_seed_same_coordinates(data, umap_users):
    m, _, _ = data
    rows = ex.orient(m, "users")
    svd, _ = ex.fit_svd(rows, 10, seed=0)
    again, _ = ex.project(rows, "umap", seed=0, svd=svd, params={"reduce_above": 50})
    np.testing.assert_array_equal(umap_users[0], again)


def test_opentsne_separates_genres_as_well_as_sklearn_tsne(data):
    """Quality not worse than before at equal settings: openTSNE (now) against scikit-learn's
    t-SNE (explore's t-SNE before), same representation, perplexity and iterations, scored by the
    ARI of k-means (k = 4 planted genres) and by trustworthiness."""
    from sklearn.manifold import TSNE, trustworthiness

    m, user_genre, _ = data
    rows = ex.orient(m, "users")
    svd, emb = ex.fit_svd(rows, 10, seed=0)
    ours, _ = ex.project(rows, "tsne", seed=0, svd=svd, params={"perplexity": 20})
    before = TSNE(perplexity=20, init="pca", metric="cosine", max_iter=1000,
                  random_state=0).fit_transform(emb)
    scores = {}
    for name, coords in (("opentsne", ours), ("sklearn", before)):
        _, table = ex.cluster_sweep(coords, ["kmeans"], [4], seed=0, truth=user_genre)
        scores[name] = (table.loc[0, "ari"], trustworthiness(emb, coords, n_neighbors=10))
    assert scores["opentsne"][0] >= min(0.8, scores["sklearn"][0] - 0.05), scores
    assert scores["opentsne"][1] >= scores["sklearn"][1] - 0.02, scores


# ---- saved maps: npz, no pickle --------------------------------------------------------------


def test_saved_maps_round_trip_without_pickle(data, umap_users, tmp_path):
    m, _, _ = data
    rows = ex.orient(m, "users")
    svd, emb = ex.fit_svd(rows, 10, seed=0)
    pca_coords, pca = ex.project(rows, "pca", seed=0)
    for name, model, new in (("svd", svd, emb), ("pca", pca, pca_coords),
                             ("umap", umap_users[1], None)):
        path = tmp_path / f"{name}.npz"
        ex.save_map(model, path, {"method": name})
        loaded = ex.load_map(path)
        assert [n for n, _ in loaded.steps] == [n for n, _ in model.steps]
        got = loaded.transform(rows[:7])
        np.testing.assert_array_equal(got, model.transform(rows[:7]))
        if new is not None:
            np.testing.assert_allclose(got, new[:7], rtol=1e-4, atol=1e-5)
        # the file is plain arrays: numpy reads it with pickle disabled
        with np.load(path, allow_pickle=False) as z:
            assert all(z[f].dtype != object for f in z.files)


def test_pickled_or_foreign_map_files_are_refused(data, tmp_path):
    import joblib

    m, _, _ = data
    _, pca = ex.project(ex.orient(m, "users"), "pca", seed=0)
    pickled = tmp_path / "model.joblib"
    joblib.dump(pca, pickled)
    with pytest.raises(ValueError, match=r"model.joblib: not a tastemap model file"):
        ex.load_map(pickled)
    objects = tmp_path / "objects.npz"
    header = ('{"format": "tastemap.model", "version": 1, "steps": [], "params": {}, '
              '"state": {"x": {"kind": "array"}}}')
    np.savez(objects, __header__=np.array(header), x=np.array([pca], dtype=object))
    with pytest.raises(ValueError, match="objects.npz: array 'x' is a pickled object array"):
        ex.load_map(objects)
    ex.save_map(pca, tmp_path / "ok.npz")
    from sklearn.decomposition import TruncatedSVD

    from tastemap.core import store

    with pytest.raises(ValueError, match="step 'l2' is a Normalizer, not one of"):
        store.read_estimators(tmp_path / "ok.npz", {"TruncatedSVD": TruncatedSVD})
    # a recommender's file is not a map, and a map is not a recommender
    with pytest.raises(ValueError, match="without estimator steps"):
        ex.load_map(_popularity_file(tmp_path))
    from tastemap.models import Recommender

    with pytest.raises(ValueError, match="ok.npz"):
        Recommender.load(tmp_path / "ok.npz")


def _popularity_file(tmp_path):
    """A fitted recommender's model.npz (popularity on a tiny matrix)."""
    import scipy.sparse as sp

    from tastemap.models import make

    path = tmp_path / "popularity.npz"
    make("popularity").fit(sp.csr_matrix(np.eye(3, dtype=np.float32))).save(path)
    return path


def test_neighbour_placement_lands_near_umaps_own_transform(data):
    """The placement of new users without umap's model: compared with umap-learn's own
    ``transform`` of the same users on the same map (users the map was not fit on). The map is
    umap-learn's own fit (``ex.project`` gives its distances precomputed, which only umap's
    ``transform`` cannot take); the placement is the one ``ex.project`` builds, on that map."""
    from sklearn.pipeline import Pipeline

    from tastemap.core.numba_cache import import_umap

    m, user_genre, _ = data
    rows = ex.orient(m, "users")
    fit, new = np.arange(100), np.arange(100, 120)
    svd, emb = ex.fit_svd(rows[fit], 10, seed=0)
    _, model = ex.project(rows[fit], "umap", seed=0, svd=svd, params={"reduce_above": 50})
    reducer = import_umap().UMAP(n_neighbors=15, metric="cosine", random_state=0,
                                 transform_seed=0, n_jobs=1).fit(emb)
    coords = np.asarray(reducer.embedding_)
    place = model.steps[-1][1]
    model = Pipeline(model.steps[:-1] + [("place", type(place)(**place.get_params()).fit(
        place.reference_, coords))])
    ours = ex.place_users(model, m[new])
    theirs = reducer.transform(svd.transform(rows[new]))
    spread = np.linalg.norm(coords - coords.mean(axis=0), axis=1).mean()
    gap = np.linalg.norm(ours - theirs, axis=1)
    assert np.median(gap) < 0.1 * spread, (gap, spread)
    # both put a new user among users of its genre
    for placed in (ours, theirs):
        near = np.argsort(np.linalg.norm(coords[None] - placed[:, None], axis=2), axis=1)[:, :5]
        assert (user_genre[fit][near] == user_genre[new][:, None]).mean() >= 0.8


def test_umap_numba_cache_gives_the_same_map(tmp_path):
    """The first process compiles umap-learn's numba code and writes it to NUMBA_CACHE_DIR; the
    second loads it: both give the same coordinates."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np, sys; from tastemap.core.numba_cache import import_umap; "
            "x = np.random.default_rng(0).random((60, 5)).astype(np.float32); "
            "y = import_umap().UMAP(n_neighbors=5, random_state=0, n_jobs=1).fit_transform(x); "
            "np.save(sys.argv[1], y)")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    for name in ("cold", "warm"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / f"{name}.npy")], env=env,
                       check=True, timeout=600)
        if name == "cold":
            cached = list((tmp_path / "numba").rglob("layouts._optimize_layout_euclidean*.nbi"))
            assert cached, "umap's layout optimiser was not cached"
    np.testing.assert_array_equal(np.load(tmp_path / "cold.npy"), np.load(tmp_path / "warm.npy"))


# ---- clustering ------------------------------------------------------------------------------


def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [10, 0], [0, 10]], dtype=float)
    truth = np.repeat(np.arange(3), 30)
    return centers[truth] + rng.normal(scale=0.5, size=(90, 2)), truth


def test_cluster_sweep_table_and_choice():
    points, truth = blobs()
    labels, table = ex.cluster_sweep(points, ["kmeans", "agglomerative", "spectral", "hdbscan", "dbscan"],
                                     [2, 3, 5, 200], seed=0, truth=truth,
                                     params={"dbscan_eps": 1.5, "spectral_n_neighbors": 10})
    assert table["run"].tolist() == [
        "kmeans_k2", "kmeans_k3", "kmeans_k5", "agglomerative_k2", "agglomerative_k3",
        "agglomerative_k5", "spectral_k2", "spectral_k3", "spectral_k5", "hdbscan", "dbscan"]
    assert set(labels) == set(table["run"])
    for run in ("kmeans_k3", "agglomerative_k3", "spectral_k3", "hdbscan", "dbscan"):
        assert table.set_index("run").loc[run, "ari"] == pytest.approx(1.0), run
    chosen = ex.select_runs(table, "silhouette")
    picked = chosen.loc[chosen["chosen"], "run"].tolist()
    assert picked == ["kmeans_k3", "agglomerative_k3", "spectral_k3", "hdbscan", "dbscan"]
    assert chosen["best"].sum() == 1
    assert chosen.loc[chosen["best"], "n_clusters"].iloc[0] == 3
    by_db = ex.select_runs(table, "davies_bouldin")
    assert by_db.loc[by_db["chosen"] & (by_db["algorithm"] == "kmeans"), "k"].iloc[0] == 3


def test_ward_from_one_tree_equals_a_fit_per_k(data):
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    m, _, _ = data
    _, emb = ex.fit_svd(ex.orient(m, "items"), 10, seed=0)
    ks = [2, 3, 4, 8, 16]
    tree = ex.ward_labels(emb, ks)
    for k in ks:
        per_k = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(emb)
        assert adjusted_rand_score(per_k, tree[k]) == 1.0, k
        assert len(np.unique(tree[k])) == k


def test_cluster_sweep_skips_quadratic_above_max_points():
    points, truth = blobs()
    labels, table = ex.cluster_sweep(points, ["kmeans", "agglomerative"], [3], seed=0, max_points=50)
    assert list(labels) == ["kmeans_k3"]
    row = table.set_index("run").loc["agglomerative_k3"]
    assert row["skipped"] == "90 points > max_points 50" and pd.isna(row["silhouette"])
    assert ex.select_runs(table)["chosen"].tolist() == [True, False]
    with pytest.raises(ValueError, match="unknown clustering algorithm"):
        ex.cluster_sweep(points, ["birch"], [3], seed=0)


def test_select_runs_exact():
    table = pd.DataFrame({
        "run": ["kmeans_k2", "kmeans_k3", "hdbscan", "dbscan"],
        "algorithm": ["kmeans", "kmeans", "hdbscan", "dbscan"],
        "noise_fraction": [0.0, 0.0, 0.5, 0.1],
        "silhouette": [0.4, 0.6, 0.9, np.nan],
        "calinski_harabasz": [10.0, 5.0, 50.0, 1.0],
        "davies_bouldin": [0.9, 0.3, 0.1, 2.0],
    })
    out = ex.select_runs(table, "silhouette", max_noise=0.2)
    assert out["chosen"].tolist() == [False, True, False, False]  # hdbscan too noisy, dbscan NaN
    assert out["best"].tolist() == [False, True, False, False]
    out = ex.select_runs(table, "calinski_harabasz", max_noise=0.6)
    assert out["chosen"].tolist() == [True, False, True, True]
    assert out["best"].tolist() == [False, False, True, False]
    out = ex.select_runs(table, "davies_bouldin", max_noise=0.2)
    assert out["best"].tolist() == [False, True, False, False]
    with pytest.raises(ValueError, match="criterion"):
        ex.select_runs(table, "ari")


def test_metrics_with_noise_and_single_cluster():
    points, truth = blobs()
    lab = truth.copy()
    lab[:5] = -1
    got = ex.internal_metrics(points, lab, seed=0)
    ref = ex.internal_metrics(points[5:], truth[5:], seed=0)
    assert got == ref
    assert all(np.isnan(v) for v in ex.internal_metrics(points, np.zeros(90, int), seed=0).values())
    ext = ex.external_metrics(np.array([0, 0, 1, 1, 2]), np.array([5, 5, 7, 7, -1]))
    assert ext == {"ari": 1.0, "nmi": 1.0}


def test_truth_labels():
    truth = pd.DataFrame({"kind": ["user", "artist", "artist"], "name": ["a", "a", "b"],
                          "genre": [3, 1, 2]})
    got = ex.truth_labels(pd.Series(["b", "a", "zzz"]), truth, "artist")
    assert got.tolist() == [2, 1, -1]
    assert ex.truth_labels(pd.Series(["a"]), truth, "user").tolist() == [3]


# ---- tables and new listening files ----------------------------------------------------------


def test_point_table_names():
    songs = pd.DataFrame({"song_idx": [1, 0], "artist_idx": [0, 0], "artist": ["Björk", "Björk"],
                          "track": ["Hyper-ballad", "Jóga"]})
    t = ex.point_table(songs, "items", "song", 2)
    assert t.to_dict("list") == {"idx": [0, 1], "name": ["Björk - Jóga", "Björk - Hyper-ballad"],
                                 "artist": ["Björk", "Björk"]}
    users = pd.DataFrame({"user_idx": [0, 1], "user": ["u1", "u2"]})
    assert ex.point_table(users, "users", "artist", 2)["name"].tolist() == ["u1", "u2"]
    with pytest.raises(ValueError, match="does not match the matrix"):
        ex.point_table(users, "users", "artist", 3)


def test_listens_to_rows_artists_and_songs():
    artists = pd.DataFrame({"artist_idx": [0, 1, 2], "artist": ["A", "B", "C"]})
    index, key = ex.item_index(artists, "artist")
    listens = pd.DataFrame({"user": ["x", "y", "x", "x"], "artist": ["C", "A", "C", "Nobody"],
                            "plays": [2, 1, 3, 9]})
    users, m, unknown = ex.listens_to_rows(listens, index, key)
    assert users.tolist() == ["x", "y"] and unknown == 1
    assert m.toarray().tolist() == [[0, 0, 5], [1, 0, 0]]
    songs = pd.DataFrame({"song_idx": [0, 1], "artist": ["A", "A"], "track": ["t1", "t2"]})
    index, key = ex.item_index(songs, "song")
    listens = pd.DataFrame({"user": ["x", "x"], "artist": ["A", "A"], "track": ["t2", "t9"]})
    users, m, unknown = ex.listens_to_rows(listens, index, key)
    assert m.toarray().tolist() == [[0, 1]] and unknown == 1


def test_new_listens_through_the_generic_format(tmp_path):
    """New listeners' files go through the generic format (one reader): TSV keeps quotes, CSV
    unquotes, a bad line stops the read naming the file, line and reason."""
    from tastemap.data.formats import FormatError, read_new_listens

    good = tmp_path / "new.tsv"
    good.write_text('user\tartist\tplays\nnew1\t"Kid" A\t3\nnew1\tB, the band\t1\n')
    t = read_new_listens(good).to_pandas()
    assert t["artist"].tolist() == ['"Kid" A', "B, the band"] and t["plays"].tolist() == [3, 1]
    assert list(t.columns) == ["user", "artist", "plays"]
    quoted = tmp_path / "new.csv"
    quoted.write_text('user,artist\nnew1,"B, the band"\n')
    t = read_new_listens(quoted).to_pandas()
    assert t["artist"].tolist() == ["B, the band"] and t["plays"].tolist() == [1]
    bad = tmp_path / "bad.tsv"
    bad.write_text("user\tartist\tplays\nnew1\tA\t3\nnew1\tB\tmany\n")
    with pytest.raises(FormatError, match=r"bad.tsv, line 3: plays not an integer"):
        read_new_listens(bad)
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("who,artist\nx,A\n")
    with pytest.raises(FormatError, match=r"nocol.csv: needs columns user and artist"):
        read_new_listens(nocol)


# ---- figures ---------------------------------------------------------------------------------


def test_scatter_map_labels_and_legend(tmp_path):
    from tastemap.viz.maps import methods_grid, scatter_map

    points, truth = blobs()
    names = np.array([f"p{i}" for i in range(90)])
    fig = scatter_map(points[:, 0], points[:, 1], np.where(np.arange(90) < 3, -1, truth), names,
                      title="t", xlabel="x", ylabel="y", figsize=(4, 4), dpi=50, n_labels=7,
                      seed=0, extra={"x": [1.0], "y": [2.0], "names": ["new"], "label": "placed"})
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 8 and "new" in texts and all(t in set(names) | {"new"} for t in texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["cluster 0", "cluster 1", "cluster 2", "noise", "placed"]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("t", "x", "y")
    fig.savefig(tmp_path / "m.png")
    # the legend is right of the map (it hides no point) and inside the saved figure
    renderer = fig.canvas.get_renderer()
    box, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert axes_box.x1 < box.x0 and box.x1 <= fig.bbox.x1
    grid = methods_grid([{"title": m, "x": points[:, 0], "y": points[:, 1], "clusters": truth}
                         for m in ("pca", "umap", "tsne")], title="cmp", figsize=(6, 6), dpi=50)
    assert [a.get_title() for a in grid.axes] == ["pca", "umap", "tsne"]


# ---- workflow (the shared tiny run) ------------------------------------------------------------

METHODS = ("pca", "umap", "tsne")
SIDES = ("users", "items")
ENTITIES = ("artist", "song")


def _target(template: str, **wildcards) -> str:
    """A results file of the tiny config as a snakemake target (relative to its directory)."""
    return f"results/{TINY_DATASET}/{L.path(template, **wildcards)}"


@pytest.mark.workflow
def test_tiny_run_every_map_and_clustering(tiny_run):
    import matplotlib.image as mpimg

    tables = {"users": pd.read_parquet(results(tiny_run, L.USERS)),
              "artist": pd.read_parquet(results(tiny_run, L.ARTISTS)),
              "song": pd.read_parquet(results(tiny_run, L.SONGS))}
    for entity in ENTITIES:
        for side in SIDES:
            names = (tables["users"]["user"] if side == "users" else
                     tables["artist"]["artist"] if entity == "artist" else
                     tables["song"]["artist"] + " - " + tables["song"]["track"])
            for method in METHODS:
                d = results(tiny_run, L.MAP_DIR, entity=entity, method=method, seed=0, side=side)
                coords = pd.read_parquet(d / "coords.parquet")
                assert coords["idx"].tolist() == list(range(len(names))), d
                assert coords["name"].tolist() == names.astype(str).tolist(), d
                assert np.isfinite(coords[["x", "y"]].to_numpy()).all()
                assert coords[["x", "y"]].std().min() > 0, d
                clusters = pd.read_parquet(d / "clusters.parquet")
                assert len(clusters) == len(coords) and "cluster" in clusters
                metrics = pd.read_csv(d / "clusters_metrics.csv")
                assert metrics["best"].sum() == 1
                assert {"silhouette", "calinski_harabasz", "davies_bouldin", "ari", "nmi"} <= set(metrics)
                assert metrics["ari"].notna().any(), "truth exists for simulated data"
                assert (d / "model.npz").exists() == (method != "tsne")
                img = mpimg.imread(d / "map.png")
                assert img.shape[:2] == (360, 360), img.shape  # tiny: 6 x 6 in at 60 dpi
                assert img[..., :3].std() > 0.05  # not blank
            assert results(tiny_run, L.SVD_CLUSTERS, entity=entity, seed=0, side=side).exists()
            assert results(tiny_run, L.METHODS_FIGURE, entity=entity, seed=0, side=side).exists()
    summary = pd.read_csv(results(tiny_run, L.EXPLORE_SUMMARY, seed=0))
    spaces = summary.groupby(["entity", "side"])["space"].unique()
    assert all(set(v) == {"pca", "umap", "tsne", "svd"} for v in spaces), spaces


@pytest.mark.workflow
def test_tiny_run_artists_recover_planted_genres(tiny_run):
    summary = pd.read_csv(results(tiny_run, L.EXPLORE_SUMMARY, seed=0))
    best = summary[summary["best"]].set_index(["entity", "side", "space"])["ari"].sort_index()
    # the best clustering (chosen by silhouette, not by the truth) of the artists
    assert best.loc[("artist", "items")].max() >= 0.8, best
    assert best.loc[("artist", "items", "umap")] >= 0.8, best
    assert best.loc[("artist", "users")].max() >= 0.8, best


@pytest.mark.workflow
@pytest.mark.usefixtures("tiny_run_to_myself")
def test_place_users_rule_puts_a_genre_fan_next_to_its_genre(tiny_run, tmp_path):
    truth = pd.read_parquet(tiny_run / L.path(L.SIMULATED_TRUTH, dataset=TINY_DATASET))
    artists = pd.read_parquet(results(tiny_run, L.ARTISTS))
    genre = truth[truth["kind"] == "artist"].set_index("name")["genre"]
    known = artists.assign(genre=artists["artist"].map(genre)).dropna(subset=["genre"])
    rng = np.random.default_rng(0)
    lines = ["user\tartist\tplays"]
    for g in (0, 1):
        pool = known.loc[known["genre"] == g, "artist"].to_numpy()
        for name in rng.choice(pool, size=min(12, len(pool)), replace=False):
            lines.append(f"fan_of_{g}\t{name}\t{rng.integers(1, 40)}")
    lines.append("fan_of_0\tAn Artist Nobody Knows\t3")
    listens = tmp_path / "new_users.tsv"
    listens.write_text("\n".join(lines) + "\n")
    umap_users = dict(entity="artist", method="umap", seed=0)
    target = _target(L.PLACED, **umap_users)
    run_snakemake(tiny_run, target, "--config", f"explore={{place_users: {{listens: {listens}}}}}")
    placed = pd.read_parquet(tiny_run / target).set_index("user")
    assert placed.index.tolist() == ["fan_of_0", "fan_of_1"]
    users = pd.read_parquet(results(tiny_run, L.MAP_COORDS, side="users", **umap_users))
    user_genre = users["name"].map(truth[truth["kind"] == "user"].set_index("name")["genre"])
    for g in (0, 1):
        point = placed.loc[f"fan_of_{g}", ["x", "y"]].to_numpy(dtype=float)
        nearest = np.argsort(np.linalg.norm(users[["x", "y"]].to_numpy() - point, axis=1))[:10]
        assert (user_genre.iloc[nearest] == g).mean() >= 0.7, user_genre.iloc[nearest].tolist()
    job = f"{L.path(L.MAP_DIR, side='users', **umap_users)}/place_users"
    log = (tiny_run / "results" / TINY_DATASET / L.log(job)).read_text()
    assert "1 rows name artists the map does not know" in log
    assert (tiny_run / target).with_name("placed.png").exists()


@pytest.mark.workflow
@pytest.mark.usefixtures("tiny_run_to_myself")
def test_changing_umap_options_reruns_only_umap_jobs(tiny_run):
    jobs = dry_run_jobs(tiny_run, "--config", "explore={umap: {n_neighbors: 7, min_dist: 0.2}}")
    n_maps = len(ENTITIES) * len(SIDES)
    jobs.pop("all", None)  # the default target rule itself, re-run whenever an input changes
    # each UMAP job makes its map, clusters and figure; the summary redraws the methods figures;
    # one explore_html job per entity redraws the interactive maps
    assert jobs == {"explore_project": n_maps, "explore_summary": 1,
                    "explore_html": len(ENTITIES)}, jobs


@pytest.mark.workflow
def test_max_points_maps_a_seeded_sample_of_the_points(tiny_run, tmp_path):
    """explore.max_points: the SVD, the maps and the clusters of a side cover the same seeded
    sample of rows, with the right ids and names."""
    import shutil

    work = tmp_path / "work"
    with tiny_run_lock(tiny_run):  # a copy, not another test's half-done job
        shutil.copytree(tiny_run, work, symlinks=True)  # keeps mtimes and .snakemake metadata
    items = dict(entity="artist", seed=0, side="items")
    targets = [_target(L.MAP_CLUSTERS, method="pca", **items), _target(L.SVD_CLUSTERS, **items)]
    run_snakemake(work, *targets, "--config", "explore={max_points: 50}")
    artists = pd.read_parquet(results(work, L.ARTISTS))
    points = np.load(results(work, L.SVD_POINTS, **items))
    assert len(points) == 50 < len(artists)
    assert (np.diff(points) > 0).all() and points.max() < len(artists)
    assert np.array_equal(points, sample_rows(len(artists), 50, 0))
    name = artists.set_index("artist_idx")["artist"]
    for target in targets:
        clusters = pd.read_parquet(work / target)
        assert clusters["idx"].tolist() == points.tolist(), target
        assert clusters["name"].tolist() == name.loc[points].astype(str).tolist(), target
    assert len(np.load(results(work, L.SVD_EMBEDDING, **items))) == 50


def test_explore_switched_off_schedules_no_explore_job(tmp_path):
    on = dry_run_jobs(tmp_path)
    off = dry_run_jobs(tmp_path, "--config", "explore={enabled: false}")
    assert on["explore_tsne"] > 0
    assert not [rule for rule in off if rule.startswith("explore")], off
    assert off["fit_model"] == on["fit_model"]
