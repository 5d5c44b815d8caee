"""Write real-sized synthetic logs for the scale benchmarks (issue 8).

Three shapes. Two through ``tastemap.data.simulate`` (the same code as the workflow's ``simulate``
rule, only bigger):

* ``360k``: Last.fm-360K layout (user SHA-1, artist MBID, artist, plays), ~17.5M rows,
  ~358K users, ~292K artists, heavy-tailed plays;
* ``1k``: Last.fm-1K layout (one scrobble per line), ~19M scrobbles, ~1K users, ~1M tracks;

and one written here, since the simulator has no song-level play counts:

* ``msd``: the Echo Nest Taste Profile subset of the Million Song Dataset -
  ``train_triplets.txt`` (``user<TAB>song_id<TAB>play_count``; the real file has 48,373,586
  triplets of 1,019,318 users and 384,546 songs) and, next to it, ``unique_tracks.txt``
  (``track_id<SEP>song_id<SEP>artist<SEP>title``). Zipf-Mandelbrot song popularity, users with
  10 or more songs (median 27), heavy-tailed play counts (mean ~2.9), a few re-released songs
  (same artist and title, two song ids) and duplicate song ids in the track list. ``--scale``
  shrinks users, songs and the catalogue together (``--scale 0.125``: ~6M triplets).

Usage::

    python benchmarks/generate.py 360k /tmp/bench/usersha1-artmbid-artname-plays.tsv
    python benchmarks/generate.py 1k /tmp/bench/userid-timestamp-artid-artname-traid-traname.tsv \\
        --truth /tmp/bench/truth.parquet --seed 1
    python benchmarks/generate.py msd /tmp/bench/msd/train_triplets.txt
    python benchmarks/generate.py msd /tmp/bench/msd-0.125/train_triplets.txt --scale 0.125

Prints the sizes, the wall time and the peak RSS of the process. ``--set key=value`` overrides
any ``simulate`` knob of the two simulated shapes (e.g. ``--set n_users=100000`` for a smaller
trial run).
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.simulate import (
    SimulationSpec,
    make_artist_names,
    make_track_names,
    simulate_to_files,
    zipf_rank,
)

#: Knobs of each shape, chosen so the sizes match the real files (measured, see docs/benchmarks.md).
SHAPES: dict[str, dict] = {
    # Last.fm-360K: 17,559,530 rows, 359,347 users, ~292K artist names, ~49 artists per user
    # (each user's top artists), median plays per row ~ 100.
    "360k": dict(layout="lastfm-360k", n_users=358_000, n_artists=292_000, n_genres=20,
                 artists_per_user=45.0, plays_per_user=6000.0, plays_sigma=1.0,
                 user_artist_zipf=0.7, artist_zipf=0.9),
    # Last.fm-1K: 19,150,868 scrobbles, 992 users, ~177K artists, ~1M distinct tracks.
    "1k": dict(layout="lastfm-1k", n_users=992, n_artists=200_000, n_genres=20,
               artists_per_user=900.0, plays_per_user=11800.0, plays_sigma=1.0,
               user_artist_zipf=0.7, artist_zipf=0.9, tracks_per_artist=6.5, track_zipf=0.8),
}


# ---- MSD taste profile shape ----------------------------------------------------------------

#: The real Echo Nest Taste Profile subset (train_triplets.txt) and MSD unique_tracks.txt.
MSD = dict(users=1_019_318, songs=384_546, triplets=48_373_586, catalogue=999_056,
           track_lines=1_000_000, artists=44_745)
#: Songs per user: 10 + lognormal (median 27, mean 47.5 as in the real file, which keeps users
#: with at least 10 songs).
MSD_SONGS_MEDIAN_EXTRA, MSD_SONGS_SIGMA = 17.0, 1.26
#: Song popularity: Zipf-Mandelbrot p(rank) ~ (rank + 1 + q)**-s: the most played song reaches
#: ~11 % of users at every scale (the real top song has 110,479 listeners), the last ranks about
#: 5 listeners at full scale.
MSD_SONG_ZIPF, MSD_SONG_OFFSET = 1.25, 120.0
#: Play counts: 1 + floor(1.2 * Lomax(1.5)): ~60 % ones, mean ~2.9, heavy tail (real: mean 2.9).
MSD_PLAYS_SHAPE, MSD_PLAYS_SCALE, MSD_PLAYS_MAX = 1.5, 1.2, 9667
#: Fraction of songs that repeat the title of another song of the same artist (re-releases:
#: the same artist and title under two song ids, merged by prepare's dedupe).
MSD_SAME_TITLE = 0.03
MSD_USERS_PER_CHUNK = 50_000


def _ids(rng: np.random.Generator, n: int, prefix: str, alphabet: bytes, width: int) -> pa.Array:
    """``n`` distinct random ids ``prefix`` + ``width`` characters of ``alphabet`` (string array)."""
    chars = np.frombuffer(alphabet, dtype=np.uint8)
    while True:
        body = chars[rng.integers(0, len(chars), size=(n, width))]
        head = np.broadcast_to(np.frombuffer(prefix.encode(), np.uint8), (n, len(prefix)))
        rows = np.ascontiguousarray(np.hstack([head, body]))
        w = rows.shape[1]
        ids = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(
            np.arange(0, (n + 1) * w, w, dtype=np.int32)), pa.py_buffer(rows.tobytes())])
        if pc.count_distinct(ids).as_py() == n:
            return ids


def _mandelbrot_rank(n: int, s: float, q: float, u: np.ndarray) -> np.ndarray:
    """0-based ranks with P(rank r) ~ (r + 1 + q)**-s on [0, n): inverse CDF of the continuous
    power law on [1 + q, n + 1 + q), floored. Vectorised over the uniforms ``u``."""
    lo, hi, a = 1.0 + q, n + 1.0 + q, 1.0 - s
    x = (lo ** a + u * (hi ** a - lo ** a)) ** (1.0 / a)
    return np.minimum(np.floor(x - lo).astype(np.int64), n - 1)


def _msd_catalogue(rng: np.random.Generator, scale: float):
    """Songs of the track list: song ids, track ids, artist and title per song (+ duplicates)."""
    n_cat = max(20, round(MSD["catalogue"] * scale))
    n_art = max(5, round(MSD["artists"] * scale))
    songs = _ids(rng, n_cat, "SO", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16)
    artist_names = pa.array(make_artist_names(n_art, rng), pa.string())
    artist = zipf_rank(np.full(n_cat, n_art), 0.8, rng.random(n_cat))
    titles = np.array(make_track_names(n_cat, rng), dtype=object)
    # re-releases: a song takes the title of the previous song of the same artist
    order = np.argsort(artist, kind="stable")
    same = np.flatnonzero((np.diff(artist[order]) == 0) & (rng.random(n_cat - 1) < MSD_SAME_TITLE))
    titles[order[same + 1]] = titles[order[same]]
    return songs, artist_names.take(pa.array(artist)), pa.array(titles, pa.string())


def write_msd_tracks(path: Path, rng: np.random.Generator, songs, artists, titles,
                     scale: float) -> dict:
    """``unique_tracks.txt``: ``track_id<SEP>song_id<SEP>artist<SEP>title``, one line per track;
    a few song ids appear on two lines (another track id, the first line wins in ingest)."""
    n = len(songs)
    n_dup = max(1, round((MSD["track_lines"] - MSD["catalogue"]) * scale))
    rows = np.concatenate([np.arange(n), rng.choice(n, size=n_dup, replace=False)])
    rows = rows[rng.permutation(len(rows))]
    tracks = _ids(rng, len(rows), "TR", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16)
    take = pa.array(rows)
    lines = pc.binary_join_element_wise(
        tracks, songs.take(take), artists.take(take), titles.take(take), "<SEP>")
    with open(path, "wb") as f:
        _write_lines(f, pc.binary_join_element_wise(lines, "", "\n"))
    return {"track_lines": len(rows), "songs": n, "duplicate_song_ids": n_dup}


def _user_songs(rng: np.random.Generator, n_users: int, n_songs: int, k: np.ndarray) -> tuple:
    """Distinct songs of each user (k[i] of them, in draw order): (owner, song rank)."""
    m = np.ceil(k * 1.5).astype(np.int64) + 10
    owner = np.repeat(np.arange(n_users, dtype=np.int64), m)
    rank = _mandelbrot_rank(n_songs, MSD_SONG_ZIPF, MSD_SONG_OFFSET, rng.random(len(owner)))
    _, first = np.unique(owner * n_songs + rank, return_index=True)
    first.sort()  # distinct (user, song) in draw order; owners stay grouped
    own = owner[first]
    start = np.searchsorted(own, np.arange(n_users))
    keep = (np.arange(len(first)) - start[own]) < k[own]
    return own[keep], rank[first[keep]]


def write_msd_triplets(path: Path, rng: np.random.Generator, song_ids: pa.Array,
                       scale: float) -> dict:
    """``train_triplets.txt``: ``user<TAB>song_id<TAB>plays``, grouped by user (users in random
    order), every user with at least 10 distinct songs."""
    n_users = max(10, round(MSD["users"] * scale))
    n_songs = max(10, min(len(song_ids), round(MSD["songs"] * scale)))
    played = song_ids.take(pa.array(rng.permutation(len(song_ids))[:n_songs]))  # rank -> song id
    users = _ids(rng, n_users, "", b"0123456789abcdef", 40)
    k = 10 + np.rint(MSD_SONGS_MEDIAN_EXTRA * rng.lognormal(0.0, MSD_SONGS_SIGMA, n_users))
    k = np.minimum(k, n_songs).astype(np.int64)
    lines = min_songs = 0
    with open(path, "wb") as f:
        for lo in range(0, n_users, MSD_USERS_PER_CHUNK):
            hi = min(n_users, lo + MSD_USERS_PER_CHUNK)
            owner, rank = _user_songs(rng, hi - lo, n_songs, k[lo:hi])
            plays = 1 + np.floor(MSD_PLAYS_SCALE * rng.pareto(MSD_PLAYS_SHAPE, len(owner)))
            plays = np.minimum(plays, MSD_PLAYS_MAX).astype(np.int64)
            cols = [users.take(pa.array(owner + lo)), played.take(pa.array(rank)),
                    pc.cast(pa.array(plays), pa.string())]
            _write_lines(f, pc.binary_join_element_wise(
                pc.binary_join_element_wise(*cols, "\t"), "", "\n"))
            lines += len(owner)
            min_songs = min(min_songs or 10**9, int(np.bincount(owner).min()))
    return {"lines": lines, "users": n_users, "songs": n_songs, "min_songs_per_user": min_songs}


def generate_msd(out: Path, tracks: Path, scale: float, seed: int) -> dict:
    """Write an MSD-taste-profile-shaped ``train_triplets.txt`` and its ``unique_tracks.txt``."""
    rng = np.random.default_rng(seed)
    songs, artists, titles = _msd_catalogue(rng, scale)
    stats = {"tracks": write_msd_tracks(tracks, rng, songs, artists, titles, scale)}
    stats.update(write_msd_triplets(out, rng, songs, scale))
    return stats


def _write_lines(f, lines: pa.Array) -> None:
    """Write a string array whose values end in newlines, straight from its data buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    lo, hi = offsets[lines.offset], offsets[lines.offset + len(lines)]
    f.write(memoryview(lines.buffers()[2])[lo:hi])


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", choices=sorted([*SHAPES, "msd"]), help="which real dataset to imitate")
    parser.add_argument("out", type=Path, help="file to write (msd: train_triplets.txt)")
    parser.add_argument("--truth", type=Path, default=None,
                        help="truth.parquet to write (default: next to OUT as <OUT>.truth.parquet)")
    parser.add_argument("--tracks", type=Path, default=None,
                        help="msd: the track list to write (default: unique_tracks.txt next to OUT)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="msd: fraction of the real size (users, songs, catalogue; default 1)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one simulate knob, e.g. n_users=100000 (repeatable)")
    args = parser.parse_args(argv)
    if args.shape != "msd" and (args.scale != 1.0 or args.tracks):
        parser.error("--scale and --tracks are options of the msd shape")
    if not 0 < args.scale <= 1:
        parser.error(f"--scale: must be in (0, 1], got {args.scale}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    start = time.perf_counter()
    if args.shape == "msd":
        stats = generate_msd(args.out, args.tracks or args.out.with_name("unique_tracks.txt"),
                             args.scale, args.seed)
    else:
        params = dict(SHAPES[args.shape], seed=args.seed)
        for item in args.set:
            key, sep, value = item.partition("=")
            if not sep:
                parser.error(f"--set {item!r}: expected KEY=VALUE")
            params[key] = _value(value)
        try:
            spec = SimulationSpec.from_params(params)
        except ValueError as err:
            parser.error(str(err))
        truth = args.truth or args.out.with_name(args.out.name + ".truth.parquet")
        stats = simulate_to_files(args.out, truth, spec)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    stats.update(shape=args.shape, seconds=round(seconds, 1), peak_rss_mib=round(peak_mib),
                 file_mib=round(args.out.stat().st_size / 2**20))
    print(json.dumps(stats, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
