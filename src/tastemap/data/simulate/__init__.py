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

The package has one module per part of the generator: ``spec`` (the knobs, the random streams),
``naming`` (names and ids), ``world`` (catalogue, genres and users' tastes, the truth table),
``listening`` (play counts and scrobbles) and ``files`` (the Last.fm layouts on disk).
"""
from __future__ import annotations

from tastemap.data.simulate.files import (
    CHUNK_LINES,
    simulate_to_files,
    write_lastfm_1k,
    write_lastfm_360k,
)
from tastemap.data.simulate.listening import (
    MIN_SESSION_GAP,
    TRACK_SECONDS,
    Pairs,
    Scrobbles,
    simulate_pairs,
    simulate_scrobbles,
)
from tastemap.data.simulate.naming import make_artist_names, make_track_names
from tastemap.data.simulate.spec import LAYOUTS, SimulationSpec, zipf_rank
from tastemap.data.simulate.world import World, make_world, truth_table

__all__ = ["CHUNK_LINES", "LAYOUTS", "MIN_SESSION_GAP", "TRACK_SECONDS", "Pairs", "Scrobbles",
           "SimulationSpec", "World", "make_artist_names", "make_track_names", "make_world",
           "simulate_pairs", "simulate_scrobbles", "simulate_to_files", "truth_table",
           "write_lastfm_1k", "write_lastfm_360k", "zipf_rank"]
