"""Property-based invariants of prepare, matrices and split on random small logs (hypothesis)."""
import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tastemap.data.matrices import build_matrix, build_times
from tastemap.data.prepare import prepare
from tastemap.data.split import split

NAMES = st.sampled_from(["a", "b", "c", "d", "Ω", "e f", '"q', ""])

row = st.tuples(
    st.sampled_from(["u1", "u2", "u3", "u4", "u5", "u6"]),
    NAMES,
    st.one_of(st.none(), st.sampled_from(["t1", "t2", "t3"])),
    st.integers(1_000_000_000, 1_300_000_000),
    st.integers(1, 1000),
)


def to_table(rows):
    u, a, t, ts, p = zip(*rows)
    return pa.table({
        "user": pa.array(u), "artist": pa.array(a), "track": pa.array(t, pa.string()),
        "timestamp": pa.array(ts, pa.int64()).cast(pa.timestamp("s", tz="UTC")),
        "plays": pa.array(p, pa.int32()),
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=60), min_track=st.integers(0, 3),
       scheme=st.sampled_from(["holdout", "loo", "temporal"]), seed=st.integers(0, 2**31))
def test_no_pair_lost_ids_contiguous_train_plus_test_is_full(rows, min_track, scheme, seed):
    log = to_table(rows)
    p = prepare(log, min_track_listeners=min_track)
    inter = p.interactions
    # ids contiguous 0..n-1 and every id used
    for table, col in ((p.users, "user_idx"), (p.artists, "artist_idx"), (p.songs, "song_idx")):
        assert table[col].tolist() == list(range(len(table)))
    assert set(inter["user_idx"]) == set(range(len(p.users)))
    assert set(inter["artist_idx"]) == set(range(len(p.artists)))
    assert set(inter.loc[inter.song_idx >= 0, "song_idx"]) == set(range(len(p.songs)))
    # no (user, artist, track) lost, plays conserved
    frame = pd.DataFrame(rows, columns=["user", "artist", "track", "ts", "plays"])
    assert len(inter) == len(frame.drop_duplicates(["user", "artist", "track"]))
    assert inter["plays"].sum() == frame["plays"].sum()
    m = build_matrix(inter, "artist", len(p.users), len(p.artists))
    expected = frame.groupby(["user", "artist"])["plays"].sum()
    users = p.users.set_index("user")["user_idx"]
    artists = p.artists.set_index("artist")["artist_idx"]
    for (u, a), plays in expected.items():
        assert m[users[u], artists[a]] == plays
    assert m.nnz == len(expected)
    times = build_times(inter, "artist", m)
    train, test = split(m, scheme, seed=seed, first_listen=times, min_user_items=2)
    assert (train + test != m).nnz == 0
    assert train.multiply(test).nnz == 0
    assert np.all(np.diff(train.indptr) >= 1)  # every user keeps at least one training item
