"""The simulated listening log: layout, malformed lines, determinism, heavy tails, planted
structure, truth consistency, the 360K layout, config plumbing."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import yaml
from conftest import REPO, TINY_CONFIG, run_snakemake
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.metrics import adjusted_rand_score

from tastemap.data.simulate import (
    SimulationSpec,
    make_artist_names,
    make_world,
    simulate_pairs,
    simulate_to_files,
    truth_table,
    zipf_rank,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SMALL = dict(seed=3, n_users=300, n_artists=600, n_genres=5, plays_per_user=120.0,
             artists_per_user=50.0, malformed_rate=0.001)
BAD_TS = {"2009-13-45T27:61:00Z", "0000-00-00T00:00:00Z", "2009-04-08 01:57"}


def _write(tmp: Path, **params) -> tuple[Path, Path, dict]:
    tmp.mkdir(parents=True, exist_ok=True)
    listens, truth = tmp / "listens.tsv", tmp / "truth.parquet"
    stats = simulate_to_files(listens, truth, params)
    return listens, truth, stats


def _lines(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")  # must be valid UTF-8
    assert text.endswith("\n")
    return [line.split("\t") for line in text[:-1].split("\n")]


def _good_1k(rows: list[list[str]]) -> pd.DataFrame:
    ok = [r for r in rows if len(r) == 6 and r[1] not in BAD_TS]
    return pd.DataFrame(ok, columns=["user", "ts", "artist_mbid", "artist", "track_mbid", "track"])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    listens, truth, stats = _write(tmp_path_factory.mktemp("small"), **SMALL)
    rows = _lines(listens)
    return listens, truth, stats, rows, _good_1k(rows)


# ---- unit: the Zipf draw ---------------------------------------------------------------------

def test_zipf_rank_bounds_and_exact_values():
    assert zipf_rank(np.array([1, 5, 5]), 1.0, np.array([0.7, 0.0, 0.999])).tolist() == [0, 0, 4]
    # s = 1: rank r is drawn when u in [log(r+1), log(r+2)) / log(n+1)
    n, u = 3, np.array([0.49, 0.51, 0.79, 0.80])  # log(2)/log(4) = 0.5, log(3)/log(4) = 0.792
    assert zipf_rank(np.full(4, n), 1.0, u).tolist() == [0, 1, 1, 2]
    # s = 0 is uniform over ranks
    assert zipf_rank(np.full(4, 4), 0.0, np.array([0.0, 0.26, 0.51, 0.99])).tolist() == [0, 1, 2, 3]


def test_zipf_rank_frequencies_follow_power_law():
    u = np.random.default_rng(0).random(200_000)
    counts = np.bincount(zipf_rank(np.full(len(u), 50), 1.0, u), minlength=50)
    assert np.all(np.diff(counts[:10]) < 0)  # strictly decreasing at the head
    # continuous approximation: P(r) = log((r+2)/(r+1)) / log(n+1)
    expected = np.log((np.arange(50) + 2) / (np.arange(50) + 1)) / np.log(51) * len(u)
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected))  # within 4 binomial sd


def test_artist_names_unique_readable_with_quirks():
    names = make_artist_names(5000, np.random.default_rng(1))
    assert len(set(names)) == 5000
    assert sum(n.startswith('"') for n in names) >= 5
    assert sum("," in n for n in names) >= 5
    assert all(n == n.strip() and "\t" not in n and "\n" not in n for n in names)
    assert all(re.search(r"[A-Za-z]{3}", n) for n in names)


# ---- the Last.fm-1K layout ---------------------------------------------------------------------

def test_layout_fields_ids_and_timestamps(small):
    _, _, stats, rows, df = small
    assert stats["lines"] == len(rows)
    assert set(df["user"]) <= {f"user_{i:06d}" for i in range(1, SMALL["n_users"] + 1)}
    ts = pd.to_datetime(df["ts"], format="%Y-%m-%dT%H:%M:%SZ", utc=True)  # raises if any bad
    assert ts.min() >= pd.Timestamp("2008-05-01", tz="UTC")
    assert ts.max() < pd.Timestamp("2008-05-01", tz="UTC") + pd.Timedelta(days=365 + 60)
    for col in ("artist_mbid", "track_mbid"):
        ids = df[col][df[col] != ""]
        assert ids.str.match(UUID).all()
    artists = df.drop_duplicates("artist")
    missing = (artists["artist_mbid"] == "").mean()
    assert 0.05 < missing < 0.16
    # an artist without MBID never has track MBIDs; every artist has exactly one MBID value
    assert (df.loc[df["artist_mbid"] == "", "track_mbid"] == "").all()
    assert df.groupby("artist")["artist_mbid"].nunique().max() == 1
    assert 0.05 < (df.drop_duplicates(["artist", "track"])["track_mbid"] == "").mean() < 0.35
    # users in order, chronological within each user, sessions: most gaps minutes, some days
    assert df["user"].is_monotonic_increasing
    secs = ts.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    same_user = (df["user"].to_numpy()[1:] == df["user"].to_numpy()[:-1])
    gaps = np.diff(secs)[same_user]
    assert (gaps >= 0).all()
    assert 0.8 < np.mean((gaps >= 150) & (gaps <= 330)) < 0.97
    assert np.mean(gaps > 3600) > 0.03
    assert (df.groupby("user")["ts"].agg(lambda s: (pd.to_datetime(s.iloc[-1]) - pd.to_datetime(
        s.iloc[0])).days).median()) > 60
    # real-data quirks in names
    assert df["artist"].str.startswith('"').any() and df["artist"].str.contains(",").any()
    assert df["track"].str.contains('"').any() or df["track"].str.contains(",").any()


def test_malformed_lines_as_configured(small):
    _, _, stats, rows, df = small
    n = stats["lines"]
    want = max(3, round(SMALL["malformed_rate"] * n))
    bad = stats["malformed"]
    assert bad["total"] == want == n - len(df)
    assert [bad["stray_tab"], bad["missing_field"], bad["bad_timestamp"]] == [
        sum(len(r) == 7 for r in rows), sum(len(r) == 5 for r in rows),
        sum(len(r) == 6 and r[1] in BAD_TS for r in rows)]
    assert min(bad["stray_tab"], bad["missing_field"], bad["bad_timestamp"]) >= want // 3


def test_no_malformed_lines_when_rate_zero(tmp_path):
    _, _, stats = _write(tmp_path, **dict(SMALL, n_users=40, malformed_rate=0.0))
    rows = _lines(tmp_path / "listens.tsv")
    assert stats["malformed"]["total"] == 0
    assert all(len(r) == 6 and r[1] not in BAD_TS for r in rows)


def test_same_spec_same_file_other_seed_other_file(tmp_path):
    params = dict(SMALL, n_users=80, n_artists=200)
    a = _good_1k(_lines(_write(tmp_path / "a", **params)[0]))
    b = _good_1k(_lines(_write(tmp_path / "b", **params)[0]))
    pd.testing.assert_frame_equal(a, b)
    ta = pq.read_table(tmp_path / "a" / "truth.parquet")
    assert ta.equals(pq.read_table(tmp_path / "b" / "truth.parquet"))
    c = _good_1k(_lines(_write(tmp_path / "c", **dict(params, seed=4))[0]))
    assert len(c) != len(a) or not (c.to_numpy() == a.to_numpy()).all()


def test_heavy_tails(small):
    df = small[4]
    per_artist = df["artist"].value_counts().to_numpy()
    top = per_artist[: max(1, len(per_artist) // 100)].sum() / per_artist.sum()
    assert top > 0.08  # top 1% of artists get > 8% of plays (6x their share)
    top10 = per_artist[: len(per_artist) // 10].sum() / per_artist.sum()
    assert top10 > 0.4
    per_user = df["user"].value_counts().to_numpy()
    assert per_user.max() / np.median(per_user) > 8
    per_song = df.groupby(["artist", "track"]).size().to_numpy()
    assert per_song.max() / np.median(per_song) > 20
    # repeat listening: users replay tracks
    assert df.duplicated(["user", "artist", "track"]).mean() > 0.4


def _artist_clusters(df: pd.DataFrame, n_genres: int, min_listeners: int = 5):
    users = df["user"].astype("category").cat.codes.to_numpy()
    artists = df["artist"].astype("category")
    B = sp.csr_matrix((np.ones(len(df)), (artists.cat.codes.to_numpy(), users)))
    B.data[:] = 1.0  # binary artist x user (duplicates summed, then set to 1)
    B.sum_duplicates()
    B.data[:] = 1.0
    listeners = np.asarray(B.sum(axis=1)).ravel()
    keep = listeners >= min_listeners
    X = TruncatedSVD(16, random_state=0).fit_transform(B[keep])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = KMeans(n_genres, n_init=10, random_state=0).fit_predict(X)
    return np.asarray(artists.cat.categories)[keep], labels, listeners[keep]


def test_planted_genres_recoverable(small):
    _, truth_path, _, _, df = small
    truth = pq.read_table(truth_path).to_pandas()
    genre_of = truth[truth["kind"] == "artist"].set_index("name")["genre"]
    names, labels, listeners = _artist_clusters(df, SMALL["n_genres"])
    assert len(names) > 0.5 * SMALL["n_artists"]
    assert adjusted_rand_score(genre_of.loc[names].to_numpy(), labels) >= 0.8
    # per planted genre, its 15 most-listened artists fall mostly into one cluster; and per
    # cluster, its 15 most-listened artists are >= 80% one genre (what the LDA check needs)
    for c in range(SMALL["n_genres"]):
        members = np.flatnonzero(labels == c)
        top = members[np.argsort(-listeners[members], kind="stable")[:15]]
        genres = genre_of.loc[names[top]].to_numpy()
        assert np.bincount(genres).max() / len(genres) >= 0.8


def test_truth_consistent_with_log(small):
    _, truth_path, _, _, df = small
    table = pq.read_table(truth_path)
    assert table.schema.field("genre").type == pa.int32()
    assert table.schema.field("genres").type == pa.list_(pa.int32())
    assert table.schema.field("weights").type == pa.list_(pa.float32())
    truth = table.to_pandas()
    users = truth[truth["kind"] == "user"]
    artists = truth[truth["kind"] == "artist"]
    assert len(users) == SMALL["n_users"] and len(artists) == SMALL["n_artists"]
    assert artists["name"].is_unique and users["name"].is_unique
    assert set(df["artist"]) <= set(artists["name"]) and set(df["user"]) <= set(users["name"])
    assert (artists["genres"].map(list) == artists["genre"].map(lambda g: [g])).all()
    assert (artists["weights"].map(list) == artists["genre"].map(lambda g: [1.0])).all()
    sizes = np.bincount(artists["genre"], minlength=SMALL["n_genres"])
    assert sizes.max() - sizes.min() <= 1  # artists spread evenly over genres
    for _, row in users.iterrows():
        g, w = list(row["genres"]), np.asarray(row["weights"])
        assert 1 <= len(g) <= 3 and len(set(g)) == len(g) and g[0] == row["genre"]
        assert np.all(np.diff(w) <= 0) and abs(w.sum() - 1) < 1e-5
    assert set(users["genres"].map(len)) == {1, 2, 3}
    # plays go to the user's own genres except for the noise (~7%)
    genre_of = artists.set_index("name")["genre"]
    mix = users.set_index("name")["genres"].map(set)
    own = [g in mix[u] for u, g in zip(df["user"], genre_of.loc[df["artist"]].to_numpy())]
    assert 0.85 < np.mean(own) < 0.99


# ---- the Last.fm-360K layout ------------------------------------------------------------------

def test_lastfm_360k_layout(tmp_path):
    params = dict(SMALL, layout="lastfm-360k", n_users=500, plays_per_user=2000.0)
    listens, truth_path, stats = _write(tmp_path, **params)
    rows = _lines(listens)
    assert all(len(r) == 4 for r in rows) and stats["lines"] == len(rows)
    df = pd.DataFrame(rows, columns=["user", "artist_mbid", "artist", "plays"])
    junk = ~df["user"].str.fullmatch(r"[0-9a-f]{40}")
    assert junk.sum() == stats["malformed"]["total"] == max(3, round(0.001 * len(rows)))
    assert df.loc[junk, "user"].str.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}").all()
    good = df[~junk].copy()
    good["plays"] = good["plays"].astype(int)
    assert (good["plays"] >= 1).all()
    assert good["user"].is_monotonic_increasing
    assert not good.duplicated(["user", "artist"]).any()
    assert (good.groupby("user", sort=False)["plays"].agg(
        lambda s: s.is_monotonic_decreasing)).all()
    truth = pq.read_table(truth_path).to_pandas()
    assert set(good["user"]) <= set(truth.loc[truth["kind"] == "user", "name"])
    assert (truth["kind"] == "user").sum() == 500
    assert stats["tracks"] == 0


def test_pairs_have_plays_and_respect_users():
    spec = SimulationSpec(n_users=50, n_artists=80, n_genres=4, seed=5, plays_per_user=30.0)
    pairs = simulate_pairs(make_world(spec), spec)
    assert pairs.plays.min() >= 1
    assert np.array_equal(np.unique(pairs.user), np.arange(50))
    key = pairs.user.astype(np.int64) * 80 + pairs.artist
    assert np.all(np.diff(key) > 0)  # sorted, one row per (user, artist)


# ---- config plumbing -----------------------------------------------------------------------

def test_spec_rejects_unknown_and_bad_values():
    with pytest.raises(ValueError, match=r"simulate\.n_user"):
        SimulationSpec.from_params({"n_user": 10})
    with pytest.raises(ValueError, match=r"simulate\.noise"):
        SimulationSpec.from_params({"noise": 1.5})
    with pytest.raises(ValueError, match=r"simulate\.start_date"):
        SimulationSpec.from_params({"start_date": "2008-13-45"})
    assert SimulationSpec.from_params({"genre_mix": [1, 1]}).genre_mix == (1.0, 1.0)


def test_schema_defaults_match_library_defaults():
    schema = yaml.safe_load((REPO / "src/tastemap/schemas/config.schema.yaml").read_text())
    props = schema["properties"]["simulate"]["properties"]
    fields = {f.name: f.default for f in dataclasses.fields(SimulationSpec)}
    assert set(props) == set(fields)
    for key, default in fields.items():
        got = props[key]["default"]
        assert (tuple(got) if isinstance(got, list) else got) == default, key
        assert props[key]["description"].strip(), key


def test_truth_table_of_world():
    spec = SimulationSpec(n_users=10, n_artists=12, n_genres=3, seed=0, layout="lastfm-360k")
    table = truth_table(make_world(spec))
    assert table.num_rows == 22
    assert table.column("kind").to_pylist() == ["user"] * 10 + ["artist"] * 12


@pytest.mark.workflow
def test_simulate_rule_and_ingest_contract(tmp_path):
    """The rule writes the tiny log; ingest keeps every good line and rejects the broken ones."""
    run_snakemake(tmp_path, "resources/synthetic/tiny/listens.tsv",
                  "results/tiny/data/ingest_stats.json")
    listens = tmp_path / "resources/synthetic/tiny/listens.tsv"
    assert (tmp_path / "resources/synthetic/tiny/truth.parquet").exists()
    rows = _lines(listens)
    cfg = yaml.safe_load(TINY_CONFIG.read_text())["simulate"]
    assert len({r[0] for r in rows if len(r) >= 5}) == cfg["n_users"]
    log = (tmp_path / "resources/synthetic/tiny/simulate.log").read_text()
    stats = json.loads(log.split("stats: ", 1)[1].splitlines()[0])
    bad = stats["malformed"]
    ingest = json.loads((tmp_path / "results/tiny/data/ingest_stats.json").read_text())
    assert ingest["lines"] == len(rows)
    # lines with a missing field or a bad timestamp must be rejected; stray tabs are rejected or
    # (when unambiguous) recovered by ingest
    broken = bad["missing_field"] + bad["bad_timestamp"]
    assert broken <= ingest["rejected"] <= broken + bad["stray_tab"]
    rejected = pq.read_table(tmp_path / "results/tiny/data/rejected.parquet").to_pandas()
    expected = {i + 1 for i, r in enumerate(rows)
                if len(r) == 5 or (len(r) == 6 and r[1] in BAD_TS)}
    assert expected <= set(rejected["line"])
