"""prepare, matrices and split on small hand-made logs with exact expected values."""
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp

from tastemap.data.matrices import build_matrix, build_times, cooccurrence, matrix_stats
from tastemap.data.prepare import prepare
from tastemap.data.split import (
    NoTestUsers,
    check_split,
    holdout,
    leave_one_out,
    restrict,
    split,
    temporal,
)

SCHEMA = pa.schema([("user", pa.string()), ("artist", pa.string()), ("track", pa.string()),
                    ("timestamp", pa.timestamp("s", tz="UTC")), ("plays", pa.int32())])


def listens(rows):
    cols = list(zip(*rows))
    ts = [None if t is None else pd.Timestamp(t, tz="UTC") for t in cols[3]]
    return pa.table([pa.array(cols[0]), pa.array(cols[1]), pa.array(cols[2], pa.string()),
                     pa.array(ts, pa.timestamp("s", tz="UTC")), pa.array(cols[4], pa.int32())], schema=SCHEMA)


LOG = listens([
    ("u2", "Beta", "b1", "2009-01-02", 1),
    ("u1", "Alpha", "a1", "2009-01-01", 1),
    ("u1", "Alpha", "a1", "2009-01-05", 1),   # duplicate of the row above: summed
    ("u1", "Beta", "b1", "2009-01-03", 2),
    ("u3", "Beta", "b1", "2009-01-04", 1),
    ("u3", "Beta", "b2", "2009-01-04", 1),
    ("u3", "Gamma", None, None, 4),
])


def test_dedupe_sums_plays_and_keeps_first_last_time():
    p = prepare(LOG, min_track_listeners=0)
    row = p.interactions.iloc[0]  # u1 (idx 0), Alpha (idx 0), a1
    assert (row.user_idx, row.artist_idx, row.plays) == (0, 0, 2)
    assert row.first_ts == pd.Timestamp("2009-01-01", tz="UTC")
    assert row.last_ts == pd.Timestamp("2009-01-05", tz="UTC")
    assert p.stats["dedupe"] == {"rows_in": 7, "rows_out": 6, "rows_removed": 1}
    assert len(p.interactions) == 6


def test_ids_are_contiguous_and_name_sorted():
    p = prepare(LOG, min_track_listeners=0)
    assert p.users["user"].tolist() == ["u1", "u2", "u3"]
    assert p.artists["artist"].tolist() == ["Alpha", "Beta", "Gamma"]
    assert p.artists["n_users"].tolist() == [1, 3, 1]
    assert p.artists["n_plays"].tolist() == [2, 5, 4]
    assert p.songs[["artist", "track"]].values.tolist() == [["Alpha", "a1"], ["Beta", "b1"], ["Beta", "b2"]]
    assert p.songs["n_users"].tolist() == [1, 3, 1]


def test_track_filter_keeps_rows_for_the_artist_matrix():
    p = prepare(LOG, min_track_listeners=2)   # only Beta - b1 has more than 2 listeners
    assert p.songs["track"].tolist() == ["b1"]
    assert p.stats["min_track_listeners"]["songs_removed"] == 2
    assert len(p.interactions) == 6            # nothing dropped from interactions
    assert (p.interactions["song_idx"] >= 0).sum() == 3
    m = build_matrix(p.interactions, "artist", 3, 3)
    assert m.toarray().tolist() == [[2, 2, 0], [0, 1, 0], [0, 2, 4]]


def test_artist_and_user_filters_report_what_they_removed():
    p = prepare(LOG, min_track_listeners=0, min_artist_listeners=2)
    assert p.artists["artist"].tolist() == ["Beta"]
    assert p.stats["min_artist_listeners"]["artists_removed"] == 2
    assert p.stats["min_artist_listeners"]["rows_removed"] == 2
    p = prepare(LOG, min_track_listeners=0, min_user_items=2)
    assert p.users["user"].tolist() == ["u1", "u3"]
    assert p.stats["min_user_items"] == {"rows_in": 6, "rows_out": 5, "rows_removed": 1, "users_removed": 1}
    # after the artist filter every user has one artist left: nothing survives, and it says why
    with pytest.raises(ValueError, match="prepare.min_user_items"):
        prepare(LOG, min_track_listeners=0, min_artist_listeners=2, min_user_items=2)


def test_normalize_artist_names_merges_spellings():
    log = listens([("u1", "The  Beatles", "x", None, 5), ("u2", "the beatles", "x", None, 1),
                   ("u3", "ＡＢＢＡ", "y", None, 1)])
    p = prepare(log, min_track_listeners=0, normalize_artist_names=True)
    assert sorted(p.artists["artist"].tolist()) == sorted(["The  Beatles", "ＡＢＢＡ"])
    assert sorted(p.artists["n_users"].tolist()) == [1, 2]
    assert p.stats["normalize_artist_names"]["artists_merged"] == 1


def test_empty_log_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        prepare(LOG.slice(0, 0))


def test_build_times_and_temporal_split():
    p = prepare(LOG, min_track_listeners=0)
    m = build_matrix(p.interactions[p.interactions.first_ts.notna()], "artist", 3, 3)
    t = build_times(p.interactions[p.interactions.first_ts.notna()], "artist", m)
    # u3 played Beta b1 and b2 on the same day; first listen of (u3, Beta) is 2009-01-04
    assert t.tolist() == [pd.Timestamp(d, tz="UTC").timestamp() for d in
                          ["2009-01-01", "2009-01-03", "2009-01-02", "2009-01-04"]]
    train, test = temporal(m, t, fraction=0.5, min_items=2, seed=0)
    assert test.toarray().tolist() == [[0, 2, 0], [0, 0, 0], [0, 0, 0]]  # u1's newer artist
    assert (train + test != m).nnz == 0


def random_matrix(n_users=50, n_items=40, density=0.3, seed=0):
    m = sp.random(n_users, n_items, density=density, format="csr", random_state=seed,
                  data_rvs=lambda n: np.random.default_rng(seed).integers(1, 50, n)).astype(np.float32)
    m.sort_indices()
    return m


@pytest.mark.parametrize("scheme", ["holdout", "loo", "temporal"])
def test_splits_partition_the_matrix_and_are_deterministic(scheme):
    m = random_matrix()
    times = np.random.default_rng(3).random(m.nnz) * 1e9
    a = split(m, scheme, seed=5, first_listen=times)
    b = split(m, scheme, seed=5, first_listen=times)
    c = split(m, scheme, seed=6, first_listen=times)
    train, test = a
    assert train.shape == test.shape == m.shape
    assert (train + test != m).nnz == 0
    assert train.multiply(test).nnz == 0
    assert (a[1] != b[1]).nnz == 0
    if scheme != "temporal":
        assert (a[1] != c[1]).nnz > 0
    n_items = np.diff(m.indptr)
    n_test = np.diff(test.indptr)
    assert (n_test[n_items < 5] == 0).all()
    if scheme == "loo":
        assert (n_test[n_items >= 5] == 1).all()
    else:
        expected = np.clip(np.rint(0.2 * n_items), 1, n_items - 1)
        assert (n_test[n_items >= 5] == expected[n_items >= 5]).all()


def test_loo_holds_out_one_of_the_top_played():
    m = sp.csr_matrix(np.array([[9, 8, 7, 1, 1, 1, 1, 1]], dtype=np.float32))
    for seed in range(20):
        _, test = leave_one_out(m, top_n=3, min_items=5, seed=seed)
        assert test.nnz == 1 and test.indices[0] in (0, 1, 2)


def test_temporal_holds_out_the_newest():
    m = sp.csr_matrix(np.ones((1, 10), dtype=np.float32))
    times = np.arange(10, dtype=float)
    _, test = temporal(m, times, fraction=0.3, min_items=5)
    assert sorted(test.indices.tolist()) == [7, 8, 9]


def test_bad_split_options_name_the_key():
    m = random_matrix()
    with pytest.raises(ValueError, match="split.test_fraction"):
        holdout(m, fraction=1.0)
    with pytest.raises(ValueError, match="split.scheme"):
        split(m, "kfold", seed=0)
    with pytest.raises(ValueError, match="timestamps"):
        split(m, "temporal", seed=0)


def one_item_each(n_users=4, n_items=6):
    """Every user has exactly one item (user u played item u mod n_items)."""
    rows = np.arange(n_users)
    return sp.csr_matrix((np.full(n_users, 3, np.float32), (rows, rows % n_items)),
                         shape=(n_users, n_items))


@pytest.mark.parametrize("scheme", ["holdout", "loo", "temporal"])
def test_a_split_without_test_users_stops_naming_the_keys(scheme):
    m = one_item_each()
    train, test = split(m, scheme, seed=0, first_listen=np.arange(m.nnz, dtype=float))
    assert test.nnz == 0  # split itself holds out nothing: nobody has 2 items
    with pytest.raises(NoTestUsers) as err:
        check_split(m, train, test, "artist", 5)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == ("artist test split: no user gets a test item: 0 of the 4 users have "
                   "split.min_user_items=5 artists or more (the most any user has is 1, and one "
                   "must stay in train); the log has too few artists per user for a per-user split")
    assert isinstance(err.value, ValueError)
    # a prepare filter that took items away from users is named, with its value
    with pytest.raises(NoTestUsers, match=r"lower prepare\.min_artist_listeners \(now 3: it takes "
                                          r"artists from users\)$"):
        check_split(m, train, test, "artist", 5, prepare={"min_artist_listeners": 3,
                                                          "min_track_listeners": 0})
    with pytest.raises(NoTestUsers, match=r"^song test split: .* lower "
                                          r"prepare\.min_track_listeners \(now 20: "):
        check_split(m, train, test, "song", 5, prepare={"min_artist_listeners": 1,
                                                        "min_track_listeners": 20})
    # filters at the values that remove nothing are not blamed
    with pytest.raises(NoTestUsers) as err:
        check_split(m, train, test, "artist", 5, prepare={"min_artist_listeners": 1})
    assert "prepare" not in str(err.value)


def test_no_test_users_says_how_low_split_min_user_items_would_do():
    m = random_matrix(n_users=30, n_items=3, density=0.6)  # at most 3 items a user
    most = int(np.diff(m.indptr).max())
    train, test = holdout(m, 0.2, 5, seed=0)
    with pytest.raises(NoTestUsers, match=rf"\(the most any user has is {most}\); lower "
                                          rf"split\.min_user_items to {most}$"):
        check_split(m, train, test, "artist", 5)
    train, test = holdout(m, 0.2, most, seed=0)
    n_items = np.diff(m.indptr)
    assert check_split(m, train, test, "artist", most) == (n_items >= most).sum() > 0


def test_a_validation_split_without_test_users_stops_naming_the_keys():
    m = sp.csr_matrix(np.ones((3, 5), np.float32))  # 5 items each: a test item, 4 left in train
    train, test = split(m, "loo", seed=0)
    assert check_split(m, train, test, "song", 5) == 3
    vtrain, vtest = split(train, "loo", seed=1)
    with pytest.raises(NoTestUsers) as err:
        check_split(train, vtrain, vtest, "song", 5, "validation", {"min_track_listeners": 0})
    assert str(err.value) == (
        "song validation split: no user gets a test item: 0 of the 3 users have "
        "split.min_user_items=5 songs or more left in train (the most any user has is 4); "
        "lower split.min_user_items to 4, or set split.validation: false")


def test_check_split_refuses_a_split_that_is_not_a_partition():
    m = random_matrix()
    train, test = holdout(m, 0.2, 5, seed=0)
    assert check_split(m, train, test, "artist", 5) > 0
    for bad in ((train, train), (m, test), (train[:-1], test[:-1])):
        with pytest.raises(RuntimeError, match="artist test split: train \\+ test is not"):
            check_split(m, *bad, "artist", 5)


@pytest.mark.workflow
def test_a_log_of_one_artist_per_user_stops_at_the_split_rule(tmp_path):
    """Ingest, prepare and matrices succeed; the split rule stops with the one line."""
    import yaml
    from conftest import run_snakemake

    raw = tmp_path / "one_each.tsv"
    raw.write_text("".join(f"user_{u:06d}\t2009-05-04T23:08:{u:02d}Z\t\tArtist {u}\t\tTrack\n"
                           for u in range(6)), encoding="utf-8")
    cfg = tmp_path / "one_each.yaml"
    cfg.write_text(yaml.safe_dump({"dataset": "one", "entities": ["artist"],
                                   "input": {"format": "lastfm-1k", "path": str(raw)}}))
    proc = run_snakemake(tmp_path, "data", "--configfile", str(cfg), configfile=None, check=False)
    assert proc.returncode != 0
    line = ("split failed: artist test split: no user gets a test item: 0 of the 6 users have "
            "split.min_user_items=5 artists or more (the most any user has is 1, and one must stay "
            "in train); the log has too few artists per user for a per-user split")
    log = (tmp_path / "results/one/logs/split/seed0.log").read_text()
    assert f"ERROR tastemap: {line}\n" in log and "Traceback" not in log
    assert f"tastemap: {line}\n" in proc.stderr
    assert "Error in rule split" in proc.stderr
    assert (tmp_path / "results/one/matrices/user_artist.npz").exists()
    for rule in ("ingest", "prepare", "matrices"):
        assert f"Error in rule {rule}" not in proc.stderr
    assert not list((tmp_path / "results/one").rglob("test_artist.npz"))


def test_restrict_realigns_values():
    m = random_matrix()
    values = np.arange(m.nnz, dtype=float)
    train, _ = holdout(m, 0.3, 2, seed=0)
    got = restrict(m, values, train)
    expected = sp.csr_matrix((values + 1, m.indices, m.indptr), shape=m.shape).multiply(train > 0)
    assert np.array_equal(got + 1, sp.csr_matrix(expected).data)


def test_cooccurrence_and_stats():
    m = random_matrix()
    c = cooccurrence(m).toarray()
    b = (m.toarray() > 0).astype(float)
    assert np.array_equal(c, b.T @ b)
    s = matrix_stats(m)
    assert s["nnz"] == m.nnz and s["shape"] == [50, 40]
    assert s["density"] == pytest.approx(m.nnz / 2000)


def test_timestamps_survive_a_parquet_round_trip(tmp_path):
    """Parquet stores [s] timestamps as [ms]; prepare must still read seconds."""
    import pyarrow.parquet as pq
    pq.write_table(LOG, tmp_path / "listens.parquet")
    p = prepare(pq.read_table(tmp_path / "listens.parquet"), min_track_listeners=0)
    assert p.interactions["first_ts"].min() == pd.Timestamp("2009-01-01", tz="UTC")


@pytest.mark.parametrize("spread", [0.0, 1.0])
def test_prepare_from_a_file_equals_prepare_from_the_table(tmp_path, monkeypatch, spread):
    """The workflow hands prepare the path of listens.parquet: names are read as dictionaries
    per row group (here 2 rows each, so dictionaries are unified across 4 groups; spread 1.0),
    or as strings encoded once (spread 0.0); the result is the same as from the table."""
    import pyarrow.parquet as pq

    import tastemap.data.prepare

    monkeypatch.setattr(tastemap.data.prepare, "SPREAD", spread)

    pq.write_table(LOG, tmp_path / "listens.parquet", row_group_size=2)
    assert pq.ParquetFile(tmp_path / "listens.parquet").num_row_groups == 4
    for opts in ({"min_track_listeners": 0}, {"min_track_listeners": 1, "min_user_items": 2},
                 {"min_track_listeners": 0, "normalize_artist_names": True}):
        a = prepare(LOG, **opts)
        b = prepare(tmp_path / "listens.parquet", **opts)
        for name in ("interactions", "users", "artists", "songs"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
        assert a.stats == b.stats


def test_dedupe_keeps_first_appearance_order_for_ties():
    """Rows equal in (user_idx, artist_idx, song_idx) - two tracks of one artist outside the
    kept songs - stay in the order of their first listen (as pandas' groupby(sort=False))."""
    log = listens([("u1", "A", "late", "2009-01-02", 7), ("u1", "A", "early", "2009-01-01", 3),
                   ("u1", "A", "late", "2009-01-03", 1)])
    p = prepare(log, min_track_listeners=5)
    assert (p.interactions["song_idx"] == -1).all()
    assert p.interactions["plays"].tolist() == [8, 3]
    assert p.interactions["last_ts"].tolist() == [pd.Timestamp("2009-01-03", tz="UTC"),
                                                 pd.Timestamp("2009-01-01", tz="UTC")]
