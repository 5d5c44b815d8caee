"""The generator's knobs (:class:`SimulationSpec`) and its random streams: one generator per
component (:func:`_rngs`) and truncated Zipf draws (:func:`zipf_rank`)."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

LAYOUTS = ("lastfm-1k", "lastfm-360k")


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

