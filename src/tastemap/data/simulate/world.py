"""Who exists: the catalogue (artists in planted genres, their popularity, tracks, names, MBIDs)
and the users' genre mixtures (:func:`make_world`), and the planted truth (:func:`truth_table`)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.simulate.naming import _blank, _hex_ids, make_artist_names, make_track_names
from tastemap.data.simulate.spec import SimulationSpec, _rngs


@dataclasses.dataclass
class World:
    """Who exists: artists with their tracks, users with their genre mixtures.

    Attributes
    ----------
    artist_name, artist_mbid : pa.StringArray, shape (n_artists,)
        Unique readable names; MBIDs are UUID strings or ``""``.
    artist_genre : np.ndarray[int32], shape (n_artists,)
    artist_rank : np.ndarray[int32], shape (n_artists,)
        0-based popularity rank of the artist within its genre (0 = most popular).
    track_start, n_tracks : np.ndarray[int64], shape (n_artists,)
        Tracks of artist ``a`` are ``track_start[a] : track_start[a] + n_tracks[a]``, ordered by
        popularity within the artist.
    track_name, track_mbid : pa.StringArray, shape (n_tracks.sum(),), or None
        Only built for the lastfm-1k layout.
    user_name : pa.StringArray, shape (n_users,)
    user_genres : np.ndarray[int32], shape (n_users, max mix)
        Genres of each user's mixture, dominant first; -1 pads unused slots.
    user_weights : np.ndarray[float64], shape (n_users, max mix)
        Mixture weights (rows sum to 1, 0 where padded), descending.
    """

    artist_name: pa.Array
    artist_mbid: pa.Array
    artist_genre: np.ndarray
    artist_rank: np.ndarray
    track_start: np.ndarray
    n_tracks: np.ndarray
    track_name: pa.Array | None
    track_mbid: pa.Array | None
    user_name: pa.Array
    user_genres: np.ndarray
    user_weights: np.ndarray


def make_world(spec: SimulationSpec) -> World:
    """Draw artists (genre, popularity, tracks, names, MBIDs) and users (genre mixtures).

    Returns
    -------
    World
        See :class:`World` for shapes.
    """
    rng = _rngs(spec.seed)
    A, G, U = spec.n_artists, spec.n_genres, spec.n_users

    # artists: genres as even as possible, popularity rank = order of appearance within genre
    r = rng["artists"]
    genre = r.permutation(np.arange(A) % G).astype(np.int32)
    order = np.argsort(genre, kind="stable")
    genre_start = np.searchsorted(genre[order], np.arange(G))
    rank = np.empty(A, dtype=np.int32)
    rank[order] = np.arange(A) - genre_start[genre[order]]
    n_tracks = np.maximum(1, np.rint(r.lognormal(math.log(spec.tracks_per_artist), 0.7, A)))
    n_tracks = n_tracks.astype(np.int64)
    track_start = np.concatenate([[0], np.cumsum(n_tracks)[:-1]]).astype(np.int64)
    artist_mbid = _blank(_hex_ids(r, A, uuid=True), r.random(A) < spec.missing_artist_mbid)

    rn = rng["names"]
    artist_name = pa.array(make_artist_names(A, rn), pa.string())
    track_name = track_mbid = None
    if spec.layout == "lastfm-1k":  # the 360K layout has no tracks: skip millions of names
        T = int(n_tracks.sum())
        track_name = pa.array(make_track_names(T, rn), pa.string())
        rt = rng["tracks"]
        no_mbid = np.repeat(pc.equal(artist_mbid, "").to_numpy(zero_copy_only=False), n_tracks)
        track_mbid = _blank(_hex_ids(rt, T, uuid=True),
                            no_mbid | (rt.random(T) < spec.missing_track_mbid))

    # users: m genres (1..len(genre_mix), at most G), Dirichlet weights, dominant first
    ru = rng["users"]
    mix = np.asarray(spec.genre_mix, dtype=np.float64)[:G]
    m = ru.choice(len(mix), size=U, p=mix / mix.sum()) + 1
    M = len(mix)
    genres = np.argsort(ru.random((U, G)), axis=1)[:, :M].astype(np.int32)
    alpha = np.ones(M)
    alpha[0] = spec.dominance
    w = ru.gamma(alpha, size=(U, M))
    w[np.arange(M)[None, :] >= m[:, None]] = 0.0
    w = -np.sort(-w, axis=1)
    w /= w.sum(axis=1, keepdims=True)
    genres[w == 0] = -1
    if spec.layout == "lastfm-360k":
        user_name = _hex_ids(ru, U, uuid=False)
        user_name = user_name.take(pc.array_sort_indices(user_name))  # the real file is sorted
    else:
        width = max(6, len(str(U)))
        user_name = pa.array([f"user_{i:0{width}d}" for i in range(1, U + 1)], pa.string())
    return World(artist_name, artist_mbid, genre, rank, track_start, n_tracks, track_name,
                 track_mbid, user_name, genres, w)


def truth_table(world: World) -> pa.Table:
    """Planted genres: one row per user, then one per artist.

    Columns: ``kind`` ("user"/"artist"), ``name``, ``genre`` (int32, dominant genre),
    ``genres`` (list<int32>, the user's mixture, ``[genre]`` for an artist), ``weights``
    (list<float32>, mixture weights, ``[1.0]`` for an artist).
    """
    U, A = len(world.user_name), len(world.artist_name)
    used = world.user_genres >= 0
    u_off = np.concatenate([[0], np.cumsum(used.sum(axis=1))]).astype(np.int32)
    u_genres = world.user_genres[used].astype(np.int32)
    u_weights = world.user_weights[used].astype(np.float32)
    a_off = np.arange(A + 1, dtype=np.int32) + u_off[-1]
    offsets = pa.array(np.concatenate([u_off, a_off[1:]]), pa.int32())
    genres = pa.ListArray.from_arrays(
        offsets, pa.array(np.concatenate([u_genres, world.artist_genre]), pa.int32()))
    weights = pa.ListArray.from_arrays(
        offsets, pa.array(np.concatenate([u_weights, np.ones(A, np.float32)]), pa.float32()))
    return pa.table({
        "kind": pa.array(["user"] * U + ["artist"] * A, pa.string()),
        "name": pa.concat_arrays([world.user_name, world.artist_name]),
        "genre": pa.array(np.concatenate([world.user_genres[:, 0], world.artist_genre]),
                          pa.int32()),
        "genres": genres,
        "weights": weights,
    })

