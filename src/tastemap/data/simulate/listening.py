"""What users play: user x artist play counts (:func:`simulate_pairs`) and, for the Last.fm-1K
layout, their expansion into timed scrobbles of tracks in sessions (:func:`simulate_scrobbles`)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from tastemap.data.simulate.spec import SimulationSpec, _rngs, zipf_rank
from tastemap.data.simulate.world import World

#: Seconds between consecutive scrobbles of a session (a track's length), uniform in this range.
TRACK_SECONDS = (150, 330)
#: Shortest mean pause between two sessions of a user, in seconds.
MIN_SESSION_GAP = 1800


@dataclasses.dataclass
class Pairs:
    """Aggregated listening: one row per distinct (user, artist), sorted by user then artist.

    Attributes
    ----------
    user, artist : np.ndarray[int32], shape (n_pairs,)
    plays : np.ndarray[int64], shape (n_pairs,)
        Play count of the pair, >= 1.
    """

    user: np.ndarray
    artist: np.ndarray
    plays: np.ndarray


@dataclasses.dataclass
class Scrobbles:
    """One row per play, sorted by user then time (chronological per user).

    Attributes
    ----------
    user, artist : np.ndarray[int32], shape (n_scrobbles,)
    track : np.ndarray[int64], shape (n_scrobbles,)
        Global track index (into ``World.track_name``).
    timestamp : np.ndarray[int64], shape (n_scrobbles,)
        Unix seconds, UTC.
    """

    user: np.ndarray
    artist: np.ndarray
    track: np.ndarray
    timestamp: np.ndarray


def simulate_pairs(world: World, spec: SimulationSpec) -> Pairs:
    """Which artists each user plays and how often (the user x artist play counts).

    Each user makes ``k`` artist draws (``k`` grows with the square root of their total plays):
    with probability ``noise`` from global popularity, otherwise from a genre of their mixture
    and a Zipf rank within it. Draws of the same artist merge. The user's total plays are spread
    over their artists with Zipf weights by draw order (the first draws become favourites).

    Returns
    -------
    Pairs
        Sorted by user, then artist; every user has at least one pair.
    """
    r = _rngs(spec.seed)["pairs"]
    U, A, G = spec.n_users, spec.n_artists, spec.n_genres
    total = np.maximum(1, np.rint(r.lognormal(math.log(spec.plays_per_user), spec.plays_sigma, U)))
    k = spec.artists_per_user * np.sqrt(total / spec.plays_per_user) * r.lognormal(0, 0.3, U)
    k = np.clip(np.rint(k), 1, np.minimum(total, A)).astype(np.int64)
    S = int(k.sum())
    owner = np.repeat(np.arange(U, dtype=np.int32), k)
    first = np.concatenate([[0], np.cumsum(k)[:-1]])
    position = np.arange(S) - np.repeat(first, k)

    # the genre of each draw, from the owner's mixture
    cw = np.cumsum(world.user_weights, axis=1)
    n_mix = (world.user_genres >= 0).sum(axis=1)
    cw[np.arange(cw.shape[1])[None, :] >= (n_mix - 1)[:, None]] = 2.0  # no float round-off
    u = r.random(S)
    slot = (u[:, None] >= cw[owner]).sum(axis=1).clip(max=cw.shape[1] - 1)
    g = world.user_genres[owner, slot]
    # the artist: Zipf rank within the genre, or global popularity for noise draws
    order = np.lexsort((world.artist_rank, world.artist_genre))
    genre_size = np.bincount(world.artist_genre, minlength=G)
    genre_start = np.concatenate([[0], np.cumsum(genre_size)[:-1]])
    artist = order[genre_start[g] + zipf_rank(genre_size[g], spec.artist_zipf, r.random(S))]
    popularity = (world.artist_rank + 1.0) ** -spec.artist_zipf
    cdf = np.cumsum(popularity) / popularity.sum()
    noise = r.random(S) < spec.noise
    artist[noise] = np.minimum(np.searchsorted(cdf, r.random(int(noise.sum())), side="right"),
                               A - 1)

    weight = (position + 1.0) ** -spec.user_artist_zipf
    key = owner.astype(np.int64) * A + artist
    uniq, inverse = np.unique(key, return_inverse=True)
    pair_weight = np.bincount(inverse, weights=weight)
    pair_user = (uniq // A).astype(np.int32)
    pair_artist = (uniq % A).astype(np.int32)
    n_pairs = np.bincount(pair_user, minlength=U)
    user_weight = np.bincount(pair_user, weights=pair_weight, minlength=U)
    extra = np.maximum(total - n_pairs, 0)[pair_user] * pair_weight / user_weight[pair_user]
    plays = 1 + r.poisson(extra)
    return Pairs(pair_user, pair_artist, plays.astype(np.int64))


def simulate_scrobbles(world: World, spec: SimulationSpec, pairs: Pairs) -> Scrobbles:
    """Expand play counts into timed scrobbles of tracks, chronological per user.

    Each (user, artist) pair has a favourite track (a Zipf draw); a scrobble replays it with
    probability ``favourite_repeat``, otherwise draws a track by the artist's Zipf popularity.
    A user's scrobbles come in random order, cut into sessions (geometric lengths, tracks
    150-330 s apart) separated by exponential pauses sized so the user's activity spans 30-100%
    of ``days``.
    """
    rngs = _rngs(spec.seed)
    r = rngs["scrobbles"]
    P = len(pairs.plays)
    fav = zipf_rank(world.n_tracks[pairs.artist], spec.track_zipf, r.random(P))
    which = np.repeat(np.arange(P, dtype=np.int64), pairs.plays)
    n = len(which)
    user = pairs.user[which]
    # shuffle within user: users are sorted, so sort by user + a uniform in [0, 1)
    which = which[np.argsort(user + r.random(n), kind="stable")]
    del user
    artist = pairs.artist[which]
    fresh = zipf_rank(world.n_tracks[artist], spec.track_zipf, r.random(n))
    repeat = r.random(n) < spec.favourite_repeat
    track = world.track_start[artist] + np.where(repeat, fav[which], fresh)
    del fresh, repeat
    user = pairs.user[which]
    del which

    rt = rngs["time"]
    U = spec.n_users
    count = np.bincount(user, minlength=U)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    span = spec.days * 86400 * rt.uniform(0.3, 1.0, U)
    n_pauses = np.maximum((count - 1) / spec.session_length, 1.0)
    listening = count * np.mean(TRACK_SECONDS)
    gap_mean = np.maximum((span - listening) / n_pauses, MIN_SESSION_GAP)
    t0 = np.datetime64(spec.start_date, "s").astype(np.int64)
    t0 = t0 + (rt.random(U) * np.maximum(spec.days * 86400 - span, 0)).astype(np.int64)
    new_session = rt.random(n) < 1.0 / spec.session_length
    step = rt.integers(TRACK_SECONDS[0], TRACK_SECONDS[1] + 1, size=n).astype(np.float64)
    pause = rt.exponential(1.0, size=n) * gap_mean[user]
    has = count > 0
    new_session[start[has]] = False
    step[start[has]] = 0.0
    # shrink a user's pauses when their exponential tail would overshoot the user's span
    pause_sum = np.bincount(user, weights=np.where(new_session, pause, 0.0), minlength=U)
    track_sum = np.bincount(user, weights=np.where(new_session, 0.0, step), minlength=U)
    room = np.maximum(span - track_sum, 0.0)
    shrink = np.where(pause_sum > room, room / np.maximum(pause_sum, 1.0), 1.0)
    step = np.where(new_session, pause * shrink[user], step).astype(np.int64)
    del pause, new_session
    cs = np.cumsum(step)
    timestamp = t0[user] + cs - np.repeat(cs[start[has]], count[has])
    return Scrobbles(user, artist, track, timestamp)

