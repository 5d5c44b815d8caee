"""Synthetic listening logs with planted genres (the embedded default data).

The generator plants structure that the later stages must find again, and dresses it like the
real Last.fm files so that what works on it transfers:

* ``n_genres`` planted genres; every artist belongs to one genre; every user mixes one to three
  genres (a Dirichlet mixture sorted so that the first genre dominates) plus a fraction ``noise``
  of plays spent on random, popularity-weighted artists of any genre.
* Zipf-like artist popularity within a genre, Zipf-like track popularity within an artist,
  log-normal total plays per user, listening in sessions over about a year, repeat listening of a
  favourite track per (user, artist).
* Output in the Last.fm-1K layout (one scrobble per line) or the Last.fm-360K layout (one
  aggregated user-artist play count per line), with a few malformed lines as the real files have,
  plus ``truth.parquet`` with the planted genre of every user and artist.

Everything is vectorised over all users (no Python loop per user or per scrobble), so the same
code writes the 1,000-user default in about a second and Last.fm-sized files (17.5M rows) in
minutes. Every random draw comes from one ``numpy.random.Generator`` per component, spawned from
the seed, so the same spec always gives the same file.

Example
-------
>>> spec = SimulationSpec(n_users=20, n_artists=30, n_genres=3, seed=1)
>>> world = make_world(spec)
>>> pairs = simulate_pairs(world, spec)
>>> int(pairs.plays.min()) >= 1
True
"""
from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

log = logging.getLogger("tastemap.simulate")

LAYOUTS = ("lastfm-1k", "lastfm-360k")
#: Lines per chunk when writing; bounds memory (a 1K-layout line is ~130 bytes).
CHUNK_LINES = 1_000_000
#: Seconds between consecutive scrobbles of a session (a track's length), uniform in this range.
TRACK_SECONDS = (150, 330)
#: Shortest mean pause between two sessions of a user, in seconds.
MIN_SESSION_GAP = 1800


@dataclasses.dataclass(frozen=True)
class SimulationSpec:
    """Every knob of the generator (the ``simulate`` config section, same names and defaults).

    Attributes
    ----------
    seed : int
        Seed of every random draw.
    layout : {"lastfm-1k", "lastfm-360k"}
        Scrobble lines with timestamps and tracks, or aggregated user-artist play counts.
    n_users, n_artists, n_genres : int
        Sizes. Artists are spread evenly over the genres.
    genre_mix : tuple of float
        Probability that a user mixes 1, 2, 3, ... genres (normalised; at most ``n_genres``).
    dominance : float
        Dirichlet concentration of a user's dominant genre (the others have 1).
    noise : float
        Expected fraction of a user's plays that go to random artists of any genre, drawn by
        global popularity.
    plays_per_user, plays_sigma : float
        Median and log-normal sigma of a user's total plays (scrobbles).
    artists_per_user : float
        Median number of artist draws per user; heavier users draw more (square-root scaling).
        Draws of the same artist merge, so users end with fewer distinct artists.
    user_artist_zipf : float
        Zipf exponent of the plays a user gives to their own artists, in draw order (larger:
        plays concentrate on a few favourite artists).
    artist_zipf, track_zipf : float
        Zipf exponents of artist popularity within a genre and track popularity within an artist.
    tracks_per_artist : float
        Median number of tracks of an artist (log-normal, sigma 0.7).
    favourite_repeat : float
        Probability that a scrobble replays the user's favourite track of that artist.
    session_length : float
        Mean number of scrobbles per listening session (geometric).
    start_date : str
        First possible listening day (``YYYY-MM-DD``, UTC).
    days : int
        Length of the listening period in days; each user is active during 30-100% of it.
    missing_artist_mbid, missing_track_mbid : float
        Fractions of artists / tracks written with an empty MusicBrainz id.
    malformed_rate : float
        Fraction of lines written malformed (at least 3 when > 0, one of each kind).
    """

    seed: int = 42
    layout: str = "lastfm-1k"
    n_users: int = 1000
    n_artists: int = 3000
    n_genres: int = 8
    genre_mix: tuple[float, ...] = (0.4, 0.4, 0.2)
    dominance: float = 4.0
    noise: float = 0.07
    plays_per_user: float = 330.0
    plays_sigma: float = 1.0
    artists_per_user: float = 100.0
    user_artist_zipf: float = 0.7
    artist_zipf: float = 1.0
    tracks_per_artist: float = 6.0
    track_zipf: float = 1.0
    favourite_repeat: float = 0.15
    session_length: float = 12.0
    start_date: str = "2008-05-01"
    days: int = 365
    missing_artist_mbid: float = 0.10
    missing_track_mbid: float = 0.12
    malformed_rate: float = 0.0002

    def __post_init__(self) -> None:
        def bad(key: str, why: str) -> ValueError:
            return ValueError(f"simulate.{key}: {why} (got {getattr(self, key)!r})")

        if self.layout not in LAYOUTS:
            raise bad("layout", f"must be one of {LAYOUTS}")
        for key in ("n_users", "n_artists", "n_genres"):
            if int(getattr(self, key)) < 2:
                raise bad(key, "must be at least 2")
        if self.n_artists < self.n_genres:
            raise bad("n_artists", "must be at least n_genres")
        if not self.genre_mix or min(self.genre_mix) < 0 or sum(self.genre_mix) <= 0:
            raise bad("genre_mix", "must be non-negative probabilities with a positive sum")
        for key in ("noise", "favourite_repeat", "missing_artist_mbid", "missing_track_mbid",
                    "malformed_rate"):
            if not 0 <= getattr(self, key) < 1:
                raise bad(key, "must be in [0, 1)")
        for key in ("dominance", "plays_per_user", "artists_per_user", "tracks_per_artist",
                    "session_length", "days"):
            if getattr(self, key) <= 0:
                raise bad(key, "must be positive")
        for key in ("plays_sigma", "user_artist_zipf", "artist_zipf", "track_zipf"):
            if getattr(self, key) < 0:
                raise bad(key, "must be >= 0")
        try:
            np.datetime64(self.start_date, "D")
        except ValueError as err:
            raise bad("start_date", "must be a date YYYY-MM-DD") from err

    @classmethod
    def from_params(cls, params: Mapping) -> SimulationSpec:
        """Build from the ``simulate`` config section; unknown keys are an error naming the key."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"simulate.{unknown[0]}: unknown key (known: {sorted(names)})")
        values = dict(params)
        if "genre_mix" in values:
            values["genre_mix"] = tuple(float(x) for x in values["genre_mix"])
        return cls(**values)


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


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per component, so that e.g. names never depend on play counts."""
    parts = ("artists", "names", "tracks", "users", "pairs", "scrobbles", "time", "malformed")
    children = np.random.SeedSequence(int(seed)).spawn(len(parts))
    return {p: np.random.default_rng(s) for p, s in zip(parts, children)}


def zipf_rank(n: np.ndarray, s: float, u: np.ndarray) -> np.ndarray:
    """0-based ranks drawn from a Zipf law truncated to ``n`` items, one per uniform ``u``.

    Inverse CDF of the continuous power law ``x**-s`` on ``[1, n + 1)``, floored: rank ``r``
    gets probability close to ``(r + 1)**-s / H(n, s)``. Hand-written because numpy's
    ``Generator.zipf`` cannot be truncated per draw and needs ``s > 1``.

    Parameters
    ----------
    n : array of int, shape (m,) or scalar
        Number of items of each draw (>= 1).
    s : float
        Exponent (>= 0; 0 gives uniform ranks).
    u : array of float, shape (m,)
        Uniform draws in [0, 1).

    Returns
    -------
    np.ndarray[int64], shape (m,), values in ``[0, n - 1]``.

    >>> zipf_rank(np.array([1, 5, 5]), 1.0, np.array([0.7, 0.0, 0.999])).tolist()
    [0, 0, 4]
    """
    n = np.asarray(n, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if abs(s - 1.0) < 1e-9:
        x = np.exp(u * np.log(n + 1.0))
    else:
        a = 1.0 - s
        x = (1.0 + u * ((n + 1.0) ** a - 1.0)) ** (1.0 / a)
    return np.minimum(np.floor(x).astype(np.int64) - 1, n.astype(np.int64) - 1).clip(0)


# ---- names ----------------------------------------------------------------------------------

_ADJ = ("Velvet Silent Golden Broken Electric Hollow Crimson Midnight Neon Wild Lonely Frozen "
        "Burning Paper Silver Glass Violet Lazy Savage Gentle Northern Southern Distant Hidden "
        "Secret Restless Wandering Sleepy Bitter Sweet Lucky Crooked Rusty Dusty Static Cosmic "
        "Lunar Solar Atomic Magnetic Analog Digital Plastic Wooden Iron Copper Scarlet Amber "
        "Ivory Emerald Azure Pale Dark Bright Quiet Loud Heavy Tender Fading Rising Falling "
        "Drifting Shining Howling Whispering Dancing Sinking Floating Burnt Empty Endless "
        "Faithful Fearless Gilded Humble Jagged Kind Mellow Narrow Odd Proud").split()
_NOUN = ("Owl Fox Wolf Raven Tiger Comet Harbor River Mountain Forest Garden Engine Mirror "
         "Lantern Anchor Arrow Crown Dagger Feather Flame Ghost Hammer Jewel Knight Lion Moth "
         "Needle Ocean Pilot Prophet Rocket Sailor Shadow Signal Spider Storm Thief Thunder "
         "Tower Valley Violin Wave Witch Wizard Cloud Desert Drum Echo Falcon Giant Glacier "
         "Horizon Island Jungle Kite Ladder Machine Meadow Monk Orchard Parade Planet Pyramid "
         "Quarry Radio Reef Saint Siren Stone Sun Tide Train Tunnel Volcano Whale Window "
         "Circus Canyon Beacon Bandit").split()
_FIRST = ("Mara Jonas Lena Oskar Ivy Felix Nora Theo Ada Milo Clara Hugo Iris Leon Alma Otto "
          "Ruby Emil Vera Arlo Greta Silas Elsa Jasper June Anton Hazel Bruno Lila Caspar "
          "Zoë Jürgen Ólafur Søren Renée Łucja Noémie Björn Íris Mateo Amira Kenji Priya "
          "Tomás Ingrid Dario Yara Rafael Sunniva Marek Aiko Levi Nadia Omar Freya Luca Selma "
          "Dante Edith Ciro Maeve Nikolai Odette Paulo Rosa Stellan Talia Umberto Wanda Xavier "
          "Yusuf Zelda Bram Cleo Dmitri Esme Fabian").split()
_LAST = ("Quinn Harlow Varga Lindqvist Moreau Okafor Brennan Castillo Delacroix Eklund Fischer "
         "Gallo Hartmann Ivanova Janssen Kowalski Laine Marchetti Novak Oliveira Petrov "
         "Rasmussen Sato Tanaka Ueda Vance Whitlock Yilmaz Zamora Abbott Bishop Carver Dunn "
         "Ellery Frost Garner Holloway Ingram Jett Kessler Lowell Mercer Nash Orton Pryce "
         "Quill Rowe Sterling Thorne Underwood Voss Wilder Yates Ashby Blackwood Crane Darrow "
         "Everly Fairfax Grove Hale Irving Keane Locke Marlowe Noble Pike Reyes Shaw Tate "
         "Vale Ward Wolfe Young Zeller Bexley Cobb").split()
_VERB = ("Run Dance Fall Breathe Dream Wait Burn Shine Drive Hold Remember Forget Follow "
         "Carry Chase Climb Cross Drift Fade Fight Float Fly Hide Hunt Jump Leave Listen "
         "Lose Meet Move Pray Reach Ride Rise Roam Sail Seek Sing Sleep Stay Swim Talk "
         "Touch Turn Wake Walk Wander Weep Whisper Call").split()
_PLACE = ("Berlin Lisbon Tokyo Memphis Paris Oslo Havana Cairo Dublin Nairobi Lagos Kyoto "
          "Vienna Seville Reno Tulsa Marseille Detroit Bristol Glasgow Athens Naples Prague "
          "Warsaw Kingston Lima Quito Austin Boston Denver the Rain the Dark the Morning "
          "the Dust the Sea the Snow the City the Summer the Valley").split()
_PREP = ("in", "over", "under", "beyond", "from")
_VERSION = ("Live", "Remix", "Acoustic", "Demo", "Radio Edit", "Remastered", "Instrumental")
_NICK = ("Little", "Big", "Lucky", "Doc", "Slim", "Sugar", "Kid", "Red")


def _plural(noun: str) -> str:
    irregular = {"Wolf": "Wolves", "Thief": "Thieves", "Echo": "Echoes", "Volcano": "Volcanoes"}
    if noun in irregular:
        return irregular[noun]
    return noun + ("es" if noun.endswith(("ch", "sh", "s", "x")) else "s")


def _decode(index: int, radices: tuple[int, ...]) -> list[int]:
    """Mixed-radix digits of ``index`` (first radix varies slowest)."""
    digits = []
    for r in reversed(radices):
        index, d = divmod(index, r)
        digits.append(d)
    return digits[::-1]


def _pick_unique(rng: np.random.Generator, n: int, patterns: list, probs: list[float]) -> list[str]:
    """``n`` distinct strings: a pattern per name by ``probs``, then distinct word combinations.

    ``patterns`` holds ``(radices, build)`` pairs; ``build(digits) -> str``. The last pattern
    takes the overflow of the others; beyond every pattern's capacity names get a numeral.
    """
    caps = [math.prod(r) for r, _ in patterns]
    counts = rng.multinomial(n, np.asarray(probs) / sum(probs))
    for i in range(len(patterns) - 1):
        over = counts[i] - caps[i]
        if over > 0:
            counts[i] -= over
            counts[-1] += over
    names: list[str] = []
    for (radices, build), cap, count in zip(patterns, caps, counts):
        take = min(count, cap)
        for idx in rng.choice(cap, size=take, replace=False).tolist():
            names.append(build(_decode(idx, radices)))
        for j in range(count - take):  # only when n exceeds every pattern's capacity
            names.append(build(_decode(j % cap, radices)) + f" {j // cap + 2}")
    order = rng.permutation(len(names))
    return [names[i] for i in order]


def make_artist_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` unique readable artist names, a few with quotes, commas or apostrophes.

    About 0.5% of names (at least 3 when ``n >= 10``) get a real-data quirk: a leading quoted
    nickname (``"Slim" Mara Quinn``), commas (``Ivy, Otto & Vera``), or an apostrophe.
    """
    nA, nN, nF, nL = len(_ADJ), len(_NOUN), len(_FIRST), len(_LAST)
    patterns = [
        ((nA, nN), lambda d: f"The {_ADJ[d[0]]} {_plural(_NOUN[d[1]])}"),
        ((nA, nN), lambda d: f"{_ADJ[d[0]]} {_NOUN[d[1]]}"),
        ((nF, nL), lambda d: f"{_FIRST[d[0]]} {_LAST[d[1]]}"),
        ((nN, nN), lambda d: f"{_NOUN[d[0]]} of {_plural(_NOUN[d[1]])}"),
        ((nF, nL, nN), lambda d: f"{_FIRST[d[0]]} {_LAST[d[1]]} & the {_plural(_NOUN[d[2]])}"),
    ]
    names = _pick_unique(rng, n, patterns, [0.25, 0.25, 0.25, 0.1, 0.15])
    n_quirk = max(3, round(0.005 * n)) if n >= 10 else 0
    for k, i in enumerate(rng.choice(n, size=min(n_quirk, n), replace=False).tolist()):
        kind = k % 3
        if kind == 0:
            names[i] = f'"{_NICK[i % len(_NICK)]}" {names[i]}'
        elif kind == 1:
            a, b, c = rng.choice(nF, size=3, replace=False).tolist()
            names[i] = f"{_FIRST[a]}, {_FIRST[b]} & {_FIRST[c]}"
        else:
            names[i] = f"{_LAST[i % nL]}'s {names[i].removeprefix('The ')}"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # quirks may collide with a plain name: number them
        if name in seen:
            seen[name] += 1
            names[i] = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
    assert len(set(names)) == n
    return names


def make_track_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct readable track names (a few quoted or with commas), globally unique."""
    nA, nN, nV, nP = len(_ADJ), len(_NOUN), len(_VERB), len(_PLACE)
    patterns = [
        ((nA, nN), lambda d: f"{_ADJ[d[0]]} {_NOUN[d[1]]}"),
        ((nV, nN), lambda d: f"{_VERB[d[0]]} Like a {_NOUN[d[1]]}"),
        ((nN, len(_PREP), nP), lambda d: f"{_NOUN[d[0]]} {_PREP[d[1]]} {_PLACE[d[2]]}"),
        ((nA, nN, len(_VERSION)), lambda d: f"{_ADJ[d[0]]} {_NOUN[d[1]]} ({_VERSION[d[2]]})"),
        ((nV, nV), lambda d: f"{_VERB[d[0]]}, {_VERB[d[1]]}, {_VERB[d[0]]}"),
        ((nN, nV), lambda d: f'"{_plural(_NOUN[d[0]])}" Don\'t {_VERB[d[1]]}'),
        ((nV, nA, nN, len(_PREP), nP),
         lambda d: f"{_VERB[d[0]]} the {_ADJ[d[1]]} {_NOUN[d[2]]} {_PREP[d[3]]} {_PLACE[d[4]]}"),
    ]
    return _pick_unique(rng, n, patterns, [0.3, 0.15, 0.2, 0.1, 0.01, 0.01, 0.23])


def _hex_ids(rng: np.random.Generator, n: int, uuid: bool) -> pa.Array:
    """``n`` random lowercase hex ids: UUID v4 strings (36 chars) or SHA-1-like (40 chars)."""
    raw = rng.integers(0, 256, size=(n, 16 if uuid else 20), dtype=np.uint8)
    if uuid:
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((n, raw.shape[1] * 2), dtype=np.uint8)
    chars[:, 0::2] = hexdigits[raw >> 4]
    chars[:, 1::2] = hexdigits[raw & 0x0F]
    if uuid:
        dash = np.full((n, 1), ord("-"), dtype=np.uint8)
        chars = np.hstack([chars[:, :8], dash, chars[:, 8:12], dash, chars[:, 12:16], dash,
                           chars[:, 16:20], dash, chars[:, 20:]])
    width = chars.shape[1]
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int32).tobytes())
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, data])


def _blank(ids: pa.Array, mask: np.ndarray) -> pa.Array:
    """``ids`` with ``""`` where ``mask``."""
    return pc.if_else(pa.array(mask), pa.scalar("", pa.string()), ids)


# ---- the world --------------------------------------------------------------------------------


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


# ---- writing ------------------------------------------------------------------------------


def _write_lines(f, lines: pa.Array) -> None:
    """Write a string array whose values already end in newlines, straight from its buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    lo, hi = offsets[lines.offset], offsets[lines.offset + len(lines)]
    f.write(memoryview(lines.buffers()[2])[lo:hi])


def _malformed_rows(n: int, spec: SimulationSpec) -> tuple[np.ndarray, np.ndarray]:
    """Sorted line indices to corrupt and the kind of each (0, 1, 2 cycling)."""
    if spec.malformed_rate <= 0 or n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    count = min(n, max(3, int(round(spec.malformed_rate * n))))
    rows = np.sort(_rngs(spec.seed)["malformed"].choice(n, size=count, replace=False))
    return rows, np.arange(count) % 3


_BAD_TIMESTAMPS = ("2009-13-45T27:61:00Z", "0000-00-00T00:00:00Z", "2009-04-08 01:57")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _corrupt_1k(fields: list[str], kind: int, j: int) -> str:
    """A Last.fm-1K line made malformed: 0 stray tab in the track name, 1 a missing field
    (no track MBID column), 2 an unparseable timestamp."""
    f = list(fields)
    if kind == 0:
        f[5] = f[5].replace(" ", "\t", 1) if " " in f[5] else f[5] + "\t(bonus)"
    elif kind == 1:
        del f[4]
    else:
        f[1] = _BAD_TIMESTAMPS[j % len(_BAD_TIMESTAMPS)]
    return "\t".join(f) + "\n"


def write_lastfm_1k(path: str | Path, world: World, scrobbles: Scrobbles,
                    spec: SimulationSpec) -> dict:
    """Write scrobbles as Last.fm-1K TSV: user, ISO time, artist MBID, artist, track MBID, track.

    No header, tab separated, UTF-8, chronological per user. ``malformed_rate`` of the lines
    (at least 3) are malformed, cycling through three kinds (see ``_corrupt_1k``).

    Returns
    -------
    dict with ``lines`` (total written) and ``malformed`` (per kind and total).
    """
    n = len(scrobbles.user)
    bad_rows, bad_kind = _malformed_rows(n, spec)
    with open(path, "wb") as f:
        for lo in range(0, n, CHUNK_LINES):
            hi = min(n, lo + CHUNK_LINES)
            u = pa.array(scrobbles.user[lo:hi])
            a = pa.array(scrobbles.artist[lo:hi])
            t = pa.array(scrobbles.track[lo:hi])
            ts = pc.cast(pa.array(scrobbles.timestamp[lo:hi]).cast(pa.timestamp("s")), pa.string())
            ts = pc.binary_join_element_wise(pc.replace_substring(ts, " ", "T"), "", "Z")
            cols = [world.user_name.take(u), ts, world.artist_mbid.take(a),
                    world.artist_name.take(a), world.track_mbid.take(t), world.track_name.take(t)]
            lines = pc.binary_join_element_wise(
                pc.binary_join_element_wise(*cols, "\t"), "", "\n")
            sel = (bad_rows >= lo) & (bad_rows < hi)
            if sel.any():
                mask = np.zeros(hi - lo, dtype=bool)
                mask[bad_rows[sel] - lo] = True
                new = [_corrupt_1k([c[i - lo].as_py() for c in cols], kind, j)
                       for j, (i, kind) in enumerate(zip(bad_rows[sel], bad_kind[sel]))]
                lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(new, pa.string()))
            _write_lines(f, lines)
    kinds = np.bincount(bad_kind, minlength=3)
    return {"lines": n, "malformed": {"stray_tab": int(kinds[0]), "missing_field": int(kinds[1]),
                                      "bad_timestamp": int(kinds[2]), "total": int(len(bad_rows))}}


def write_lastfm_360k(path: str | Path, world: World, pairs: Pairs, spec: SimulationSpec) -> dict:
    """Write play counts as Last.fm-360K TSV: user SHA-1, artist MBID, artist, plays.

    No header, tab separated; users in sorted order, each user's artists by plays descending.
    ``malformed_rate`` of the rows (at least 3) are junk as in the real file: a date such as
    ``Sep 20, 2008`` where the user id should be.

    Returns
    -------
    dict with ``lines`` and ``malformed`` (``date_as_user`` and ``total``).
    """
    order = np.lexsort((-pairs.plays, pairs.user))
    n = len(order)
    bad_rows, _ = _malformed_rows(n, spec)
    rb = np.random.default_rng(np.random.SeedSequence([spec.seed, 360]))
    dates = [f"{_MONTHS[m]} {d}, {y}" for m, d, y in zip(
        rb.integers(0, 12, len(bad_rows)), rb.integers(1, 29, len(bad_rows)),
        rb.integers(2002, 2010, len(bad_rows)))]
    with open(path, "wb") as f:
        for lo in range(0, n, CHUNK_LINES):
            hi = min(n, lo + CHUNK_LINES)
            idx = order[lo:hi]
            users = world.user_name.take(pa.array(pairs.user[idx]))
            sel = (bad_rows >= lo) & (bad_rows < hi)
            if sel.any():
                mask = np.zeros(hi - lo, dtype=bool)
                mask[bad_rows[sel] - lo] = True
                users = pc.replace_with_mask(
                    users, pa.array(mask), pa.array(np.asarray(dates, dtype=object)[sel].tolist(),
                                                    pa.string()))
            a = pa.array(pairs.artist[idx])
            cols = [users, world.artist_mbid.take(a), world.artist_name.take(a),
                    pc.cast(pa.array(pairs.plays[idx]), pa.string())]
            _write_lines(f, pc.binary_join_element_wise(
                pc.binary_join_element_wise(*cols, "\t"), "", "\n"))
    return {"lines": n, "malformed": {"date_as_user": int(len(bad_rows)),
                                      "total": int(len(bad_rows))}}


def simulate_to_files(listens_path: str | Path, truth_path: str | Path,
                      params: Mapping | SimulationSpec) -> dict:
    """Simulate a listening log and write it with its planted truth.

    Parameters
    ----------
    listens_path : path
        The TSV to write, in ``spec.layout``.
    truth_path : path
        The ``truth.parquet`` to write (see :func:`truth_table`).
    params : mapping or SimulationSpec
        The ``simulate`` config section.

    Returns
    -------
    dict
        Sizes (users, artists, tracks, pairs, lines) and malformed-line counts.
    """
    spec = params if isinstance(params, SimulationSpec) else SimulationSpec.from_params(params)
    world = make_world(spec)
    n_tracks = int(world.n_tracks.sum()) if world.track_name is not None else 0
    log.info("world: %d users, %d artists, %d tracks, %d genres", spec.n_users, spec.n_artists,
             n_tracks, spec.n_genres)
    pairs = simulate_pairs(world, spec)
    log.info("pairs: %d (user, artist) with %d plays", len(pairs.plays), int(pairs.plays.sum()))
    if spec.layout == "lastfm-1k":
        scrobbles = simulate_scrobbles(world, spec, pairs)
        out = write_lastfm_1k(listens_path, world, scrobbles, spec)
        del scrobbles
    else:
        out = write_lastfm_360k(listens_path, world, pairs, spec)
    log.info("wrote %d lines to %s, %d malformed on purpose: %s", out["lines"], listens_path,
             out["malformed"]["total"], out["malformed"])
    pq.write_table(truth_table(world), truth_path)
    return {"layout": spec.layout, "users": spec.n_users, "artists": spec.n_artists,
            "tracks": n_tracks, "pairs": len(pairs.plays),
            "plays": int(pairs.plays.sum()), **out}
